# Entry points for building, testing, installing and packaging gateway-agent.
#   make build            release binary with the Swift runtime linked in (.build/release/gateway-agent)
#   make test             all tests (swift test)
#   make install          scripts/install (PREFIX, DESTDIR, SYSCONFDIR honoured)
#   make deb              dist/gateway-agent_<version>_<arch>.deb
#   make test-packaging   install into a DESTDIR and check the .deb
#   make demo             scripts/demo
#   make bench            bench/run (the full benchmark, about 15 minutes; bench/run --quick for a smoke run)
PREFIX ?= /usr
DESTDIR ?=
SYSCONFDIR ?= /etc
SWIFT_RELEASE_FLAGS = -c release --static-swift-stdlib

.PHONY: build test install deb test-packaging demo bench

build:
	swift build $(SWIFT_RELEASE_FLAGS) --product gateway-agent

test:
	scripts/test

install:
	PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" SYSCONFDIR="$(SYSCONFDIR)" scripts/install

deb:
	scripts/build-deb

test-packaging:
	scripts/test-packaging

demo:
	scripts/demo

bench:
	bench/run
