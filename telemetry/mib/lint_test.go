package mib

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const shippedMIB = "../../mibs/GATEWATCH-MIB.txt"

// ownMIBDir puts the shipped module where libsmi and net-snmp find it by
// name.
func ownMIBDir(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(shippedMIB)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ModuleName+".txt"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// smilint prints nothing at level 6 (every warning): it exits 0 even on
// errors, so its output is what counts.
func TestShippedMIBLintsClean(t *testing.T) {
	peers.Require(t, "/usr/bin/smilint")
	base, own := peers.BaseMIBs(t), ownMIBDir(t)
	cmd := exec.Command("smilint", "-l", "6", "-s", "-m", filepath.Join(own, ModuleName+".txt"))
	cmd.Env = append(os.Environ(), "SMIPATH="+peers.MIBPath(base, own))
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("smilint -l 6: %v\n%s", err, out)
	}
	// The linter does see problems: a module with an unused import is
	// reported (so silence above means clean, not blind).
	bad := strings.Replace(mustRead(t, shippedMIB), "Counter64, Gauge32,", "Counter64, Gauge32, Integer32,", 1)
	badFile := filepath.Join(t.TempDir(), ModuleName+".txt")
	if err := os.WriteFile(badFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("smilint", "-l", "6", "-s", "-m", badFile)
	cmd.Env = append(os.Environ(), "SMIPATH="+peers.MIBPath(base, filepath.Dir(badFile)))
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "import-unused") {
		t.Errorf("smilint did not report an unused import: %s", out)
	}
}

// snmptranslate, with only the base MIBs and ours loaded, resolves every
// object and notification the module defines, to the OID the code uses.
func TestShippedMIBResolvesInNetSNMP(t *testing.T) {
	peers.Require(t, "/usr/bin/snmptranslate")
	base, own := peers.BaseMIBs(t), ownMIBDir(t)
	text := mustRead(t, shippedMIB)
	defs := regexp.MustCompile(`(?m)^(gw\w+) (OBJECT-TYPE|NOTIFICATION-TYPE)`).FindAllStringSubmatch(text, -1)
	if len(defs) < 100 {
		t.Fatalf("only %d definitions", len(defs))
	}
	args := []string{"-M", peers.MIBPath(base, own), "-m", ModuleName, "-On"}
	for _, d := range defs {
		args = append(args, ModuleName+"::"+d[1])
	}
	cmd := exec.Command("snmptranslate", args...)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+t.TempDir(), "MIBS=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("snmptranslate: %v\n%s%s", err, out, stderr.String())
	}
	var oids []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			oids = append(oids, l)
		}
	}
	if len(oids) != len(defs) {
		t.Fatalf("%d names, %d OIDs:\n%s", len(defs), len(oids), out)
	}
	for i, d := range defs {
		if !strings.HasPrefix(oids[i], ".1.3.6.1.4.1.32473.") {
			t.Errorf("%s resolved to %s", d[1], oids[i])
		}
	}
	// Spot checks against the layout the subagent serves.
	want := map[string]string{"gwReceivedMessages": ".1.3.6.1.4.1.32473.2.1", "gwRouteDeliveredMessages": ".1.3.6.1.4.1.32473.3.1.1.30",
		"gwRouteUnreachableEvent": ".1.3.6.1.4.1.32473.0.16", "gwTrapText": ".1.3.6.1.4.1.32473.5.2"}
	for i, d := range defs {
		if w, ok := want[d[1]]; ok && oids[i] != w {
			t.Errorf("%s = %s, want %s", d[1], oids[i], w)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The base modules shipped beside GATEWATCH-MIB are the ones Debian's
// erlang-snmp carries, byte for byte, and they are all the MIB needs:
// smilint finds every import in mibs/ alone.
func TestShippedBaseMIBs(t *testing.T) {
	peers.Require(t, "/usr/bin/smilint")
	base := peers.BaseMIBs(t)
	for _, m := range []string{"SNMPv2-SMI", "SNMPv2-TC", "SNMPv2-CONF"} {
		if mustRead(t, filepath.Join("../../mibs", m)) != mustRead(t, filepath.Join(base, m+".mib")) {
			t.Errorf("mibs/%s differs from erlang-snmp's %s.mib", m, m)
		}
	}
	cmd := exec.Command("smilint", "-l", "6", "-s", "-m", shippedMIB)
	cmd.Env = append(os.Environ(), "SMIPATH=../../mibs:")
	if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("smilint with only mibs/ on the path: %v\n%s", err, out)
	}
}
