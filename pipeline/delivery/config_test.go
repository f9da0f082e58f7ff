package delivery

import (
	"strings"
	"testing"
	"time"
)

func goodConfig() Config {
	return testConfig(
		Route{Name: "local", Match: "*@origin.test", To: "dir:///var/spool/gw/local"},
		Route{Name: "out", Match: "*", To: "smtp://127.0.0.1:2525"},
	)
}

func TestConfigValidateGood(t *testing.T) {
	if err := goodConfig().Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	// The same name twice is fine when both go to the same place.
	c := goodConfig()
	c.Routes = append(c.Routes, Route{Name: "out", Match: "*@x.test", To: "smtp://127.0.0.1:2525"})
	if err := c.Validate(); err != nil {
		t.Fatalf("same name, same target: %v", err)
	}
	// RouteDown 0 (no route-down cache) is allowed.
	c = goodConfig()
	c.Retry.RouteDown = 0
	if err := c.Validate(); err != nil {
		t.Fatalf("route_down 0: %v", err)
	}
}

func TestConfigValidateNamesKey(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		key    string
	}{
		{"no routes", func(c *Config) { c.Routes = nil }, "delivery.routes:"},
		{"empty match", func(c *Config) { c.Routes[1].Match = "" }, "delivery.routes[1].match:"},
		{"bad match", func(c *Config) { c.Routes[0].Match = "[*@origin.test" }, "delivery.routes[0].match:"},
		{"bad match late in pattern", func(c *Config) { c.Routes[0].Match = "zzz*[" }, "delivery.routes[0].match:"},
		{"ftp target", func(c *Config) { c.Routes[1].To = "ftp://x" }, "delivery.routes[1].to:"},
		{"smtp without host", func(c *Config) { c.Routes[1].To = "smtp://" }, "delivery.routes[1].to:"},
		{"smtp empty port", func(c *Config) { c.Routes[1].To = "smtp://mx.test:" }, "delivery.routes[1].to:"},
		{"dir without path", func(c *Config) { c.Routes[0].To = "dir://" }, "delivery.routes[0].to:"},
		{"empty target", func(c *Config) { c.Routes[0].To = "" }, "delivery.routes[0].to:"},
		{"negative route concurrency", func(c *Config) { c.Routes[1].Concurrency = -1 }, "delivery.routes[1].concurrency:"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "delivery.concurrency:"},
		{"negative concurrency", func(c *Config) { c.Concurrency = -3 }, "delivery.concurrency:"},
		{"duplicate name elsewhere", func(c *Config) {
			c.Routes = append(c.Routes, Route{Name: "out", Match: "*@x.test", To: "smtp://127.0.0.2:25"})
		}, "delivery.routes[2].name:"},
		{"retry initial > max", func(c *Config) { c.Retry.Initial, c.Retry.Max = time.Second, time.Millisecond }, "delivery.retry:"},
		{"retry initial zero", func(c *Config) { c.Retry.Initial = 0 }, "delivery.retry:"},
		{"lifetime zero", func(c *Config) { c.Retry.Lifetime = 0 }, "delivery.retry.lifetime:"},
		{"route_down negative", func(c *Config) { c.Retry.RouteDown = -time.Second }, "delivery.retry.route_down:"},
		{"connect timeout zero", func(c *Config) { c.Timeouts.Connect = 0 }, "delivery.timeouts.connect:"},
		{"command timeout zero", func(c *Config) { c.Timeouts.Command = 0 }, "delivery.timeouts.command:"},
		{"data timeout zero", func(c *Config) { c.Timeouts.Data = 0 }, "delivery.timeouts.data:"},
		{"idle timeout negative", func(c *Config) { c.Timeouts.Idle = -time.Second }, "delivery.timeouts.idle:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := goodConfig()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate accepted the config, want an error naming %s", tc.key)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.key) {
				t.Fatalf("error %q does not name %s", msg, tc.key)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("one mistake gave several errors:\n%s", msg)
			}
			if _, nerr := New(c, Options{}); nerr == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	c := goodConfig()
	c.Routes[0].To = "ftp://x"
	c.Timeouts.Data = 0
	c.Retry.Lifetime = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, key := range []string{"delivery.routes[0].to", "delivery.timeouts.data", "delivery.retry.lifetime"} {
		mustContain(t, err.Error(), key)
	}
}

func TestParseTarget(t *testing.T) {
	cases := []struct {
		in, kind, addr, dir, str string
	}{
		{"smtp://mx.example.test", "smtp", "mx.example.test:25", "", "smtp://mx.example.test:25"},
		{"smtp://mx.example.test/", "smtp", "mx.example.test:25", "", "smtp://mx.example.test:25"},
		{"smtp://127.0.0.1:2525", "smtp", "127.0.0.1:2525", "", "smtp://127.0.0.1:2525"},
		{"smtp://[::1]", "smtp", "[::1]:25", "", "smtp://[::1]:25"},
		{"smtp://[::1]:587", "smtp", "[::1]:587", "", "smtp://[::1]:587"},
		{"dir:///var/mail/out", "dir", "", "/var/mail/out", "dir:///var/mail/out"},
		{"dir://relative/dir", "dir", "", "relative/dir", "dir://relative/dir"},
	}
	for _, tc := range cases {
		tg, err := parseTarget(tc.in)
		if err != nil {
			t.Errorf("parseTarget(%q): %v", tc.in, err)
			continue
		}
		if tg.kind != tc.kind || tg.addr != tc.addr || tg.dir != tc.dir {
			t.Errorf("parseTarget(%q) = %+v, want kind %s addr %q dir %q", tc.in, tg, tc.kind, tc.addr, tc.dir)
		}
		if tg.String() != tc.str {
			t.Errorf("parseTarget(%q).String() = %q, want %q", tc.in, tg.String(), tc.str)
		}
	}
	for _, bad := range []string{"", "ftp://x", "smtp://", "smtp://:25", "smtp://host:", "dir://", "mx.test:25"} {
		if tg, err := parseTarget(bad); err == nil {
			t.Errorf("parseTarget(%q) = %+v, want an error", bad, tg)
		}
	}
}

func TestRoutingTable(t *testing.T) {
	cfg := testConfig(
		Route{Name: "vip", Match: "vip@example.test", To: "smtp://10.0.0.1:25", Concurrency: 3},
		Route{Name: "example", Match: "*@EXAMPLE.test", To: "smtp://10.0.0.2:25"},
		Route{Match: "user?@other.test", To: "dir:///tmp/users"},
		Route{Name: "all", Match: "*", To: "smtp://10.0.0.3:25"},
	)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tbl := compileTable(cfg)
	cases := []struct{ rcpt, route string }{
		{"vip@example.test", "vip"}, // first match wins over *@example.test
		{"VIP@Example.TEST", "vip"}, // case-insensitive address
		{"joe@example.test", "example"},
		{"Joe@EXAMPLE.TEST", "example"}, // mask was upper case too
		{"user1@other.test", "dir:///tmp/users"},
		{"user12@other.test", "all"}, // ? is exactly one character
		{"joe@sub.example.test", "all"},
		{"anyone@anywhere.test", "all"},
	}
	for _, tc := range cases {
		r, ok := tbl.lookup(tc.rcpt)
		if !ok {
			t.Errorf("lookup(%q): no route, want %s", tc.rcpt, tc.route)
			continue
		}
		if r.name != tc.route {
			t.Errorf("lookup(%q) = %s, want %s", tc.rcpt, r.name, tc.route)
		}
	}
	vip, _ := tbl.lookup("vip@example.test")
	if vip.conc != 3 {
		t.Errorf("vip concurrency %d, want its own 3", vip.conc)
	}
	ex, _ := tbl.lookup("joe@example.test")
	if ex.conc != cfg.Concurrency {
		t.Errorf("example concurrency %d, want the section's %d", ex.conc, cfg.Concurrency)
	}
	if ex.target.kind != "smtp" || ex.target.addr != "10.0.0.2:25" {
		t.Errorf("example target %+v", ex.target)
	}

	// Without a catch-all some recipients have no route.
	cfg.Routes = cfg.Routes[:3]
	tbl = compileTable(cfg)
	if r, ok := tbl.lookup("anyone@anywhere.test"); ok {
		t.Errorf("lookup without catch-all found %s", r.name)
	}

	// "*" first takes everything.
	cfg = testConfig(Route{Name: "all", Match: "*", To: "smtp://10.0.0.3:25"},
		Route{Name: "vip", Match: "vip@example.test", To: "smtp://10.0.0.1:25"})
	tbl = compileTable(cfg)
	if r, _ := tbl.lookup("vip@example.test"); r.name != "all" {
		t.Errorf("with * first, vip went to %s", r.name)
	}
}

func TestBackoff(t *testing.T) {
	r := Retry{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond}
	want := map[int]time.Duration{0: 50, 1: 50, 2: 100, 3: 200, 4: 200, 10: 200, 1000000: 200}
	for n, w := range want {
		if got := backoff(r, n); got != w*time.Millisecond {
			t.Errorf("backoff(%d) = %s, want %s", n, got, w*time.Millisecond)
		}
	}
	r = Retry{Initial: 30 * time.Second, Max: 100 * time.Second}
	for n, w := range map[int]time.Duration{1: 30, 2: 60, 3: 100, 64: 100} {
		if got := backoff(r, n); got != w*time.Second {
			t.Errorf("backoff(%d) = %s, want %s", n, got, w*time.Second)
		}
	}
	r = Retry{Initial: time.Minute, Max: time.Minute}
	if got := backoff(r, 5); got != time.Minute {
		t.Errorf("initial == max: backoff(5) = %s", got)
	}
	// Doubling from a tiny start to a large cap never wraps around.
	r = Retry{Initial: time.Nanosecond, Max: 1000 * time.Hour}
	prev := time.Duration(0)
	for n := 1; n < 100; n++ {
		got := backoff(r, n)
		if got < prev || got <= 0 {
			t.Fatalf("backoff(%d) = %s after %s", n, got, prev)
		}
		prev = got
	}
	if got := backoff(r, 99); got != r.Max {
		t.Errorf("backoff(99) = %s, want the cap %s", got, r.Max)
	}
}
