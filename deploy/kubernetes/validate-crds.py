#!/usr/bin/env python3
"""Validates prometheus-operator resources (ServiceMonitor, PrometheusRule, ...) offline.

kubernetes-validate ships the schemas of Kubernetes' own kinds only. For the
monitoring.coreos.com/v1 kinds this uses the pydantic models that the PyPI package
cloudcoil-models-prometheus-operator generates from prometheus-operator's CRDs: types, enums
and patterns (durations such as `30s`) are checked by the model; fields the CRD does not know
(a typo such as `scrapeTimout`) are found by dumping the validated model and comparing it with
the input, since the models ignore unknown fields rather than reject them.

Usage: validate-crds.py FILE...   (exit 0 when every document of every file is valid)
"""

import importlib.metadata
import sys

import yaml
from cloudcoil.models.prometheus_operator import v1

MODELS = "cloudcoil.models.prometheus_operator"


def lost(given, kept, where, problems):
    """Records every field of `given` that the validated model dropped or changed."""
    if isinstance(given, dict):
        for key, value in given.items():
            if not isinstance(kept, dict) or key not in kept:
                problems.append(f"{where}.{key}: not a field of the CRD")
            else:
                lost(value, kept[key], f"{where}.{key}", problems)
    elif isinstance(given, list):
        if not isinstance(kept, list) or len(kept) != len(given):
            problems.append(f"{where}: list changed")
            return
        for i, (a, b) in enumerate(zip(given, kept)):
            lost(a, b, f"{where}[{i}]", problems)
    elif given != kept and str(given) != str(kept):
        problems.append(f"{where}: {given!r} became {kept!r}")


def main(paths):
    version = importlib.metadata.version(MODELS)
    failed = False
    for path in paths:
        with open(path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in documents:
            kind, api = doc.get("kind"), doc.get("apiVersion")
            name = f"{path}: {kind} {doc.get('metadata', {}).get('name')}"
            model = getattr(v1, kind or "", None) if api == "monitoring.coreos.com/v1" else None
            if model is None:
                print(f"ERROR {name}: no model for apiVersion {api} kind {kind}")
                failed = True
                continue
            try:
                obj = model.model_validate(doc)
            except Exception as e:  # pydantic.ValidationError, with every problem listed
                print(f"ERROR {name}: {e}")
                failed = True
                continue
            problems = []
            lost(doc, obj.model_dump(by_alias=True, exclude_unset=True, mode="json"), "", problems)
            if problems:
                print(f"ERROR {name}:\n  " + "\n  ".join(problems))
                failed = True
            else:
                print(f"OK {name} (prometheus-operator models {version})")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
