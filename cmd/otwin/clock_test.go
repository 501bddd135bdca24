package main

import (
	"strings"
	"testing"
)

func TestClockCommands(t *testing.T) {
	e, url := controlTwin(t)
	tests := []struct {
		args    []string
		want    []string
		wantErr bool
	}{
		{[]string{"clock", "status"}, []string{"scenario:", "cli", "state:", "running", "ticks:", "0"}, false},
		{[]string{"clock", "pause"}, []string{"paused"}, false},
		{[]string{"clock", "step", "25"}, []string{"ticks:", "25", "elapsed:", "2.5s"}, false},
		{[]string{"clock", "speed", "4"}, []string{"speed:", "4"}, false},
		{[]string{"clock", "speed", "fast"}, []string{"want a number > 0"}, true},
		{[]string{"clock", "speed", "20000"}, []string{"field speed", "HTTP 400"}, true},
		{[]string{"clock", "step", "0"}, []string{"from 1 to"}, true},
		{[]string{"clock", "resume"}, []string{"running"}, false},
	}
	for _, tt := range tests {
		out, err := otwin(t, append(tt.args, "--control", url)...)
		text := out
		if err != nil {
			text += err.Error()
		}
		if (err != nil) != tt.wantErr {
			t.Fatalf("%v: err %v; output %s", tt.args, err, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Fatalf("%v: output %q lacks %q", tt.args, text, w)
			}
		}
	}
	if st := e.Status(); st.Ticks < 25 || st.Speed != 4 || st.Paused {
		t.Fatalf("engine status %+v", st)
	}
}
