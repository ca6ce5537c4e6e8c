.PHONY: demo test bench
# One command: environment, packages, SQLite, demo season, embedded Redis, worker, cron, web.
demo:
	./scripts/demo.sh
# One command: installs and starts PostgreSQL + Redis, runs static checks and the whole suite.
test:
	./scripts/test.sh
# Benchmarks against PostgreSQL (see BENCHMARKS.md): make bench SCALE=office|platform
bench:
	./bench/run.sh $(or $(SCALE),office)
