#!/usr/bin/env bash
# Builds the gamelift-exporter container image from this repository alone, with podman or
# buildah, pulling nothing from a container registry:
#
#   1. the release binary (`cargo build --release --locked`), or the one given with --binary;
#   2. a root filesystem staged in the build context: the binary (stripped), the dynamic loader
#      and the shared libraries its ELF header names (from the Debian packages libc6 and
#      libgcc-s1), the CA bundle (made from the ca-certificates package as update-ca-certificates
#      makes it), /etc/passwd and /etc/group with the exporter's user (65532), /etc/nsswitch.conf,
#      the default config and the packages' copyright files. The packages are fetched with
#      `apt-get download` and unpacked with `dpkg-deb -x`: nothing is installed, nothing runs as
#      root, no maintainer script runs;
#   3. a check that the staged binary starts with the staged loader and libraries alone;
#   4. `podman build` or `buildah build` of the Containerfile (FROM scratch) on that context.
#
# Usage: deploy/container/build.sh [options]
#   --binary FILE   put FILE in the image instead of building the release binary
#   --tag NAME      image name (default localhost/gamelift-exporter:<Cargo.toml version>)
#   --tool NAME     podman or buildah (default: podman if installed, else buildah)
#   --context DIR   stage the build context in DIR and keep it (default: a temporary directory,
#                   removed afterwards)
#   --stage-only    stage the context and stop (for another builder: it is a plain directory
#                   for `<builder> build -f Containerfile DIR`)
#   --debs DIR      keep the Debian packages in DIR: those already there are used as they are,
#                   the others are downloaded (default: in the context, fetched afresh)
#   --download-only fetch the packages into --debs DIR and stop; a later run with the same
#                   --debs needs no network at all (the test builds the image with none)
#
# Needs: cargo (unless --binary), apt-get and dpkg-deb (a Debian or Ubuntu machine whose
# packages match the binary's architecture), readelf and strip (binutils), podman or buildah.
# As an unprivileged user, podman and buildah need subordinate ids (/etc/subuid); as root they
# work as they are (the test in tests/it/deploy.rs uses buildah with vfs storage).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
binary="" tag="" tool="" context="" debs="" stage_only=false download_only=false
usage() { sed -n '/^# Usage:/,/^# Needs:/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --binary) binary=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --tool) tool=$2; shift 2 ;;
        --context) context=$2; shift 2 ;;
        --stage-only) stage_only=true; shift ;;
        --debs) debs=$2; shift 2 ;;
        --download-only) download_only=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)
tag=${tag:-localhost/gamelift-exporter:$version}
revision=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# The commit's time as the image's creation time and every file's time: the same inputs make
# the same image.
timestamp=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)

for needed in apt-get dpkg-deb readelf strip; do
    command -v "$needed" >/dev/null || { echo "build.sh: $needed is required" >&2; exit 1; }
done
if $download_only && [ -z "$debs" ]; then
    echo "build.sh: --download-only needs --debs DIR" >&2
    exit 2
fi

# The Debian packages: the candidate versions of the machine's apt sources (the check below
# proves the binary runs with them), plus the package holding libgcc-s1's copyright file (its
# documentation directory is a symlink to gcc-NN-base's).
arch=$(dpkg --print-architecture)
packages=(libc6 libgcc-s1 ca-certificates)
fetch() {
    local package=$1
    if ! ls "$debs/${package}_"*.deb >/dev/null 2>&1; then
        (cd "$debs" && apt-get download -q=2 "$package:$arch" 2>&1 |
            grep -v 'Download is performed unsandboxed' >&2 || true)
        ls "$debs/${package}_"*.deb >/dev/null || { echo "build.sh: cannot download $package" >&2; exit 1; }
    fi
}
unpack() {
    rm -rf "$debs/unpacked/$1"
    dpkg-deb -x "$(ls "$debs/${1}_"*.deb | tail -n 1)" "$debs/unpacked/$1"
}
fetch_and_unpack() {
    mkdir -p "$debs/unpacked"
    for package in "${packages[@]}"; do
        fetch "$package"
        unpack "$package"
    done
    libgcc_doc=$(readlink "$debs/unpacked/libgcc-s1/usr/share/doc/libgcc-s1" || true)
    if [ -n "$libgcc_doc" ]; then
        fetch "$(basename "$libgcc_doc")"
        unpack "$(basename "$libgcc_doc")"
    fi
    (cd "$debs" && ls ./*.deb | sed 's|^./|build.sh: |' >&2)
}
if $download_only; then
    mkdir -p "$debs"
    debs=$(cd "$debs" && pwd)
    fetch_and_unpack
    exit 0
fi

if ! $stage_only; then
    if [ -z "$tool" ]; then
        tool=$(command -v podman >/dev/null && echo podman || echo buildah)
    fi
    command -v "$tool" >/dev/null || { echo "build.sh: install podman or buildah" >&2; exit 1; }
fi

if [ -z "$binary" ]; then
    (cd "$repo" && cargo build --release --locked)
    target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    binary=$target_dir/release/gamelift-exporter
fi
[ -x "$binary" ] || { echo "build.sh: $binary is not an executable" >&2; exit 1; }

if [ -z "$context" ]; then
    context=$(mktemp -d "${TMPDIR:-/tmp}/gamelift-exporter-image.XXXXXX")
    trap 'rm -rf "$context"' EXIT
fi
mkdir -p "$context"
context=$(cd "$context" && pwd)
rootfs=$context/rootfs
rm -rf "$rootfs" "$context/state"
mkdir -p "$rootfs/var/lib" "$context/state/gamelift-exporter"
# The state directory, copied with its owner set (the Containerfile's second COPY).
chmod 0700 "$context/state/gamelift-exporter"

if [ -z "$debs" ]; then
    debs=$context/debs
    rm -rf "$debs"
fi
mkdir -p "$debs"
debs=$(cd "$debs" && pwd)
fetch_and_unpack
unpacked=("$debs/unpacked/libc6" "$debs/unpacked/libgcc-s1")

install -d -m 0755 "$rootfs/usr/local/bin" "$rootfs/etc/gamelift-exporter" "$rootfs/etc/ssl/certs"
install -m 0755 "$binary" "$rootfs/usr/local/bin/gamelift-exporter"
strip "$rootfs/usr/local/bin/gamelift-exporter"
exe=$rootfs/usr/local/bin/gamelift-exporter

# Copies one path of the unpacked packages into the root filesystem, as it is there (a symlink
# stays a symlink, and what it points to is copied too).
copy_from_packages() {
    local path=$1 dir
    for dir in "${unpacked[@]}"; do
        if [ -e "$dir$path" ] || [ -L "$dir$path" ]; then
            mkdir -p "$rootfs$(dirname "$path")"
            cp -a "$dir$path" "$rootfs$path"
            if [ -L "$dir$path" ]; then
                local target
                target=$(readlink "$dir$path")
                case $target in /*) ;; *) target=$(dirname "$path")/$target ;; esac
                copy_from_packages "$target"
            fi
            return 0
        fi
    done
    echo "build.sh: $path is in none of ${packages[*]}" >&2
    exit 1
}

# The loader the binary names, then the closure of the libraries named by NEEDED entries, looked
# up where the loader looks by default (the multiarch directories). A static binary needs none.
interpreter=$(readelf -l "$exe" | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
if [ -n "$interpreter" ]; then
    copy_from_packages "$interpreter"
    libdirs=()
    for dir in "${unpacked[@]}"; do
        for sub in "$dir"/lib/*-linux-gnu "$dir"/usr/lib/*-linux-gnu; do
            [ -d "$sub" ] && libdirs+=("${sub#"$dir"}")
        done
    done
    queue=("$exe") seen=" "
    while [ ${#queue[@]} -gt 0 ]; do
        object=${queue[0]} queue=("${queue[@]:1}")
        for lib in $(readelf -d "$object" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
            case $seen in *" $lib "*) continue ;; esac
            seen="$seen$lib "
            found=""
            for libdir in "${libdirs[@]}"; do
                for dir in "${unpacked[@]}"; do
                    if [ -e "$dir$libdir/$lib" ]; then found=$libdir/$lib; break 2; fi
                done
            done
            [ -n "$found" ] || { echo "build.sh: the binary needs $lib, in none of ${packages[*]}" >&2; exit 1; }
            copy_from_packages "$found"
            queue+=("$rootfs$found")
        done
    done
fi

# The CA bundle, as update-ca-certificates writes it: every Mozilla certificate of the package,
# in file-name order, each ending with a newline. openssl-probe/rustls-native-certs (the AWS
# SDK's TLS) find it at this path.
find "$debs/unpacked/ca-certificates/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort |
    while read -r crt; do sed -e '$a\' "$crt"; done >"$rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$rootfs/etc/ssl/certs/ca-certificates.crt"
[ "$(grep -c 'BEGIN CERTIFICATE' "$rootfs/etc/ssl/certs/ca-certificates.crt")" -gt 100 ] ||
    { echo "build.sh: the CA bundle is nearly empty" >&2; exit 1; }

# Each package's copyright file (libgcc-s1's is gcc-NN-base's).
for package in "${packages[@]}"; do
    doc=$debs/unpacked/$package/usr/share/doc/$package
    if [ -L "$doc" ]; then
        base=$(basename "$(readlink "$doc")")
        doc=$debs/unpacked/$base/usr/share/doc/$base
    fi
    install -D -m 0644 "$doc/copyright" "$rootfs/usr/share/doc/$package/copyright"
done

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
gamelift-exporter:x:65532:65532:gamelift-exporter:/nonexistent:/usr/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
gamelift-exporter:x:65532:
EOF
# glibc's built-in files and dns lookups; no NSS module is loaded.
cat >"$rootfs/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/nsswitch.conf"
install -m 0644 "$repo/deploy/container/gamelift-exporter.toml" \
    "$rootfs/etc/gamelift-exporter/gamelift-exporter.toml"
find "$rootfs" -type d -exec chmod 0755 {} +
find "$rootfs" "$context/state" -exec touch -h -d "@$timestamp" {} +

# The staged binary, run with the staged loader and libraries only (no root, no container).
run_staged() {
    if [ -n "$interpreter" ]; then
        local path="" libdir
        for libdir in "${libdirs[@]}"; do path="$path${path:+:}$rootfs$libdir"; done
        "$rootfs$interpreter" --inhibit-cache --library-path "$path" "$exe" "$@"
    else
        "$exe" "$@"
    fi
}
run_staged --version >&2
run_staged --config "$rootfs/etc/gamelift-exporter/gamelift-exporter.toml" --check-config >/dev/null

echo "build.sh: staged $(du -sk "$rootfs" | cut -f1) KiB in $context" >&2
if $stage_only; then
    exit 0
fi

"$tool" build --timestamp "$timestamp" \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    -f "$repo/Containerfile" -t "$tag" "$context"
echo "build.sh: built $tag" >&2
