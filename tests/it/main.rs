//! Every integration test, in one binary (each test binary links the AWS SDK, so one links
//! once): the simulator through the real SDK and through boto3 and the AWS CLI, the exporter end
//! to end against exact ground truth, the sweep engine, reliability and security, bad input,
//! the operator kit with real Prometheus tools, a bounded soak of the real binary, and the
//! container image and Kubernetes manifests.
//!
//! Shared helpers live in [`support`]; fixtures in `tests/fixtures/`, Python clients in
//! `tests/clients/`. Tests that need an external tool (promtool, prometheus, systemd-analyze,
//! boto3, the AWS CLI, openssl, curl, buildah, kubectl, kubernetes-validate, jsonnet, amtool,
//! Alertmanager, git) print `SKIPPED: ...` without it, except in CI.

mod accounts;
mod bad_input;
mod capacity;
mod deploy;
mod events;
mod exporter;
mod operator_kit;
mod python_clients;
mod release;
mod reliability;
mod simulator;
mod simulator_accounts;
mod simulator_capacity;
mod simulator_events;
mod soak;
mod support;
mod sweep_engine;
mod timeline;
