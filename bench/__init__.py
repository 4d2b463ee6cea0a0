"""refimpl benchmarks: ``python -m bench [CASE ...] [--quick] [--json FILE]``; see bench/README.md."""
