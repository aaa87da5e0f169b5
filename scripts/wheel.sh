#!/usr/bin/env bash
# Builds the Python package's wheel into dist/: abi3 (one wheel for CPython >= 3.10), tagged
# manylinux for this machine's glibc, with the shared libraries it links (OpenBLAS, HDF5,
# fontconfig, ...) copied in by maturin's auditwheel repair (patchelf), so that it installs with
# `pip install dist/infoplane-*.whl` and runs with no compiler or -dev package. The SIMD kernels
# pick AVX-512, AVX2+FMA or the portable path at run time: the wheel runs on any x86-64.
#
#   scripts/wheel.sh            release build (what to hand to others; a cold build is long)
#   scripts/wheel.sh --dev      the dev profile (dependencies optimised, the crate not): what
#                               .ci/run installs into a fresh venv to test, reusing its build
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
[ "${1:-}" = "--dev" ] && profile=dev
rm -rf dist
(cd analysis/python && maturin build --locked --profile "$profile" --auditwheel repair --out ../../dist)
# The repair rewrites the library's dependencies (patchelf) in cargo's own artifact, in place,
# and cargo would go on handing that file to `maturin develop`, whose editable install would
# then look for the wheel's bundled copies. Remove it: the next build links it again.
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
dir=$([ "$profile" = dev ] && echo debug || echo release)
rm -f "$target/$dir/deps/lib_native.so" "$target/maturin/lib_native.so"
ls -l dist/
