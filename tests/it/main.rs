//! Every integration test, in one binary (each test binary links the AWS SDK, so one links
//! once): the simulator through the real SDK and through boto3 and the AWS CLI, the exporter end
//! to end against exact ground truth, the sweep engine, reliability and security, bad input,
//! the operator kit with real Prometheus tools, and a bounded soak of the real binary.
//!
//! Shared helpers live in [`support`]; fixtures in `tests/fixtures/`, Python clients in
//! `tests/clients/`. Tests that need an external tool (promtool, prometheus, systemd-analyze,
//! boto3, the AWS CLI, openssl, curl) print `SKIPPED: ...` without it, except in CI.

mod bad_input;
mod exporter;
mod operator_kit;
mod python_clients;
mod reliability;
mod simulator;
mod simulator_capacity;
mod soak;
mod support;
mod sweep_engine;
