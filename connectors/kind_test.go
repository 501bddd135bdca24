package connectors

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	URL string `yaml:"url" json:"url"`
}

func (c *testConfig) Check() error {
	if c.URL == "" {
		return errors.Join(FieldErrorf("", "needs a url"), FieldErrorf("url", "url %q: empty", c.URL))
	}
	return nil
}
func (c *testConfig) Discovery() *Discovery         { return nil }
func (c *testConfig) UpdateInterval() time.Duration { return time.Second }
func (c *testConfig) NewConnector(name string, points []string, env Env) (Connector, error) {
	return nil, fmt.Errorf("%s: not a real connector", name)
}

type otherConfig struct{ testConfig }

func TestRegistry(t *testing.T) {
	k := Kind{Name: "regtest", Title: "Test", PointKey: "addr", NewConfig: func() Config { return &testConfig{URL: "x"} },
		ParseAddress: func(s string) (string, error) { return strings.ToLower(s), nil }}
	Register(k)
	got, ok := Lookup("regtest")
	if !ok || got.Title != "Test" || got.PointKey != "addr" {
		t.Fatalf("Lookup = %+v, %v", got, ok)
	}
	if kk, ok := KindOf(&testConfig{}); !ok || kk.Name != "regtest" {
		t.Errorf("KindOf = %+v, %v", kk, ok)
	}
	if _, ok := KindOf(&otherConfig{}); ok {
		t.Error("KindOf an unregistered type")
	}
	if cfg := got.ZeroConfig().(*testConfig); cfg.URL != "" {
		t.Errorf("ZeroConfig holds %+v, want zero", cfg)
	}
	if cfg := got.NewConfig().(*testConfig); cfg.URL != "x" {
		t.Errorf("NewConfig holds %+v, want the defaults", cfg)
	}
	found := false
	for _, n := range KindNames() {
		found = found || n == "regtest"
	}
	if !found {
		t.Errorf("KindNames = %v", KindNames())
	}
	spec := Spec{Name: "s", Config: &testConfig{}}
	if _, err := spec.New(Env{}); err == nil || !strings.Contains(err.Error(), "s: not a real connector") {
		t.Errorf("Spec.New = %v", err)
	}
	if _, err := (Spec{Name: "u", Config: &otherConfig{}}).New(Env{}); err == nil || !strings.Contains(err.Error(), "no registered connector kind") {
		t.Errorf("Spec.New of an unregistered kind = %v", err)
	}

	for name, bad := range map[string]Kind{
		"twice":      k,
		"incomplete": {Name: "inc"},
		"same type":  {Name: "regtest2", Title: "T", PointKey: "a", NewConfig: k.NewConfig, ParseAddress: k.ParseAddress},
		"no pointer": {Name: "regtest3", Title: "T", PointKey: "a", NewConfig: func() Config { return nil }, ParseAddress: k.ParseAddress},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register %s did not panic", name)
				}
			}()
			Register(bad)
		}()
	}
}

func TestFieldErrors(t *testing.T) {
	err := (&testConfig{}).Check()
	fes := FieldErrors(err)
	if len(fes) != 2 || fes[0].Key != "" || fes[1].Key != "url" || fes[1].Error() != `url "": empty` {
		t.Errorf("FieldErrors = %+v", fes)
	}
	plain := FieldErrors(errors.New("plain"))
	if len(plain) != 1 || plain[0].Key != "" || plain[0].Error() != "plain" {
		t.Errorf("FieldErrors of a plain error = %+v", plain)
	}
	wrapped := FieldErrors(fmt.Errorf("ctx: %w", FieldErrorf("timeout", "too short")))
	if len(wrapped) != 1 || wrapped[0].Key != "timeout" || wrapped[0].Error() != "ctx: too short" {
		t.Errorf("FieldErrors of a wrapped one = %+v", wrapped)
	}
	if FieldErrors(nil) != nil {
		t.Error("FieldErrors(nil) != nil")
	}
}
