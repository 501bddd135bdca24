package scenarios

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	s, err := Load("testdata/valid/resolve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 1 || s.Tick != Duration(100*time.Millisecond) || s.TimeScale != 1 {
		t.Errorf("defaults: seed %d tick %s time_scale %v", s.Seed, s.Tick, s.TimeScale)
	}
	if !slices.Equal(s.OPCUA.Security, SecurityModes) || s.OPCUA.Anonymous == nil || !*s.OPCUA.Anonymous {
		t.Errorf("opcua defaults: %+v", s.OPCUA)
	}
	if s.File != "testdata/valid/resolve.yaml" {
		t.Errorf("File = %q", s.File)
	}
	p1, p2 := &s.Machines[0], &s.Machines[1]
	if got := p1.AssetPath(); got != "acme/s1/l2/c1/p1" {
		t.Errorf("p1 asset path %q", got)
	}
	if got := p2.AssetPath(); got != "acme/s1/l1/p2" {
		t.Errorf("p2 asset path %q", got)
	}
	if got := tagNames(p1); !slices.Equal(got, []string{"speed", "running", "count", "extra"}) {
		t.Errorf("p1 tags %q", got)
	}
	sp := p1.Tags[0]
	if sp.Description != "own speed" || sp.Unit != "rpm" || sp.Type != Float64 || sp.Model == nil || sp.Model.Constant == nil {
		t.Errorf("p1 speed not merged field by field: %+v", sp)
	}
	if r := sp.Modbus; r.Table != "holding" || r.Address != 10 || r.Type != Int16 || r.Scale != 0.5 || r.Order != "AB" {
		t.Errorf("p1 speed register %+v", *r)
	}
	if r := p2.Tags[0].Modbus; r.Table != "holding" || r.Type != Float32 || r.Order != "ABCD" || r.Scale != 1 {
		t.Errorf("p2 speed register (from template) %+v", *r)
	}
	if r := p1.Tags[1].Modbus; r.Type != Bool || r.Order != "" {
		t.Errorf("coil register %+v", *r)
	}
	if r := p1.Tags[2].Modbus; r.Type != Uint32 || r.Order != "ABCD" {
		t.Errorf("uint32 register %+v", *r)
	}
	if p1.Modbus.UnitID != 1 || p2.Modbus.UnitID != 0 {
		t.Errorf("unit ids %d %d", p1.Modbus.UnitID, p2.Modbus.UnitID)
	}
	if p1.OPCUA.Namespace != "urn:otwin:resolve" || p2.OPCUA.Namespace != "urn:custom" {
		t.Errorf("namespaces %q %q", p1.OPCUA.Namespace, p2.OPCUA.Namespace)
	}
	ex := p1.Tags[3]
	if ex.Type != Int16 || len(ex.Model.Steps.Steps) != 2 || ex.Model.Steps.Steps[1].At != Duration(1500*time.Millisecond) {
		t.Errorf("extra %+v", ex)
	}
	// The merge key copies the anchored tag; the own model overrides it.
	ex2 := p2.Tags[3]
	if ex2.Name != "extra" || ex2.Type != Int16 || ex2.Model.Constant == nil || ex2.Model.Steps != nil {
		t.Errorf("merged extra %+v", ex2)
	}
	// Template tags keep their own values: p1's override does not leak.
	if p2.Tags[0].Description != "template speed" {
		t.Errorf("p2 speed description %q", p2.Tags[0].Description)
	}
}

func TestExamples(t *testing.T) {
	names := Examples()
	if !slices.Equal(names, []string{"bottling", "cnc", "pasteurizer"}) {
		t.Fatalf("Examples() = %q", names)
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			s, err := Example(n)
			if err != nil {
				t.Fatal(err)
			}
			var tags, both int
			var opcua, modbus bool
			for _, m := range s.Machines {
				tags += len(m.Tags)
				opcua = opcua || m.OPCUA != nil
				modbus = modbus || m.Modbus != nil
				if m.OPCUA != nil && m.Modbus != nil {
					both++
				}
			}
			if tags < 8 || tags > 60 {
				t.Errorf("%d tags, want 8-60", tags)
			}
			if !opcua || !modbus || both == 0 {
				t.Errorf("protocols: opcua %v modbus %v machines on both %d", opcua, modbus, both)
			}
			if s.Tick < Duration(100*time.Millisecond) || s.Tick > Duration(250*time.Millisecond) {
				t.Errorf("tick %s", s.Tick)
			}
			if len(s.Templates) == 0 || len(s.Faults) < 3 || len(s.Timeline) == 0 || len(s.Roles) == 0 || len(s.Exercises) == 0 {
				t.Errorf("missing sections: %d templates, %d faults, %d events, %d roles, %d exercises",
					len(s.Templates), len(s.Faults), len(s.Timeline), len(s.Roles), len(s.Exercises))
			}
			var started bool
			for _, f := range s.Faults {
				started = started || f.Start != nil
			}
			if !started {
				t.Error("no fault fires by itself")
			}
		})
	}
	if _, err := Example("nope"); err == nil {
		t.Error("Example(nope) succeeded")
	}
	if d := Default(); d.Name != "bottling" {
		t.Errorf("Default().Name = %q", d.Name)
	}
}

func TestValidFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no valid fixtures")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("Load(%s): %v", f, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Fatalf("Load(missing) = %v", err)
	}
}
