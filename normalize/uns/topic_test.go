package uns

import (
	"strings"
	"testing"
)

func TestTopics(t *testing.T) {
	for _, tc := range []struct {
		prefix, node string
		id           string
		sample       string
		tagAlert     string
		health       string
		status       string
	}{
		{
			prefix: "", node: "edge1", id: "acme/plant1/bottling/line1/cell2/filler1/speed",
			sample:   "acme/plant1/bottling/line1/cell2/filler1/speed",
			tagAlert: "acme/plant1/bottling/line1/cell2/filler1/speed/_alert/stale",
			health:   "_otwin/edge1/health/filler-plc", status: "_otwin/edge1/status",
		},
		{
			// Fewer levels: nothing is padded.
			prefix: "acme", node: "edge1", id: "plant1/press3/force",
			sample:   "acme/plant1/press3/force",
			tagAlert: "acme/plant1/press3/force/_alert/stale",
			health:   "acme/_otwin/edge1/health/filler-plc", status: "acme/_otwin/edge1/status",
		},
		{
			// A node name with topic characters becomes one level.
			prefix: "acme/uns", node: "edge/1#", id: "s/m/t",
			sample:   "acme/uns/s/m/t",
			tagAlert: "acme/uns/s/m/t/_alert/stale",
			health:   "acme/uns/_otwin/edge_1_/health/filler-plc", status: "acme/uns/_otwin/edge_1_/status",
		},
	} {
		tp, err := NewTopics(tc.prefix, tc.node)
		if err != nil {
			t.Fatal(err)
		}
		if got := tp.Sample(tc.id); got != tc.sample {
			t.Errorf("Sample(%q) = %q, want %q", tc.id, got, tc.sample)
		}
		if got := tp.TagAlert(tc.id, "stale"); got != tc.tagAlert {
			t.Errorf("TagAlert = %q, want %q", got, tc.tagAlert)
		}
		if got := tp.Health("filler-plc"); got != tc.health {
			t.Errorf("Health = %q, want %q", got, tc.health)
		}
		if got := tp.Status(); got != tc.status {
			t.Errorf("Status = %q, want %q", got, tc.status)
		}
	}
}

func TestTopicsSanitize(t *testing.T) {
	tp, _ := NewTopics("", "n")
	for in, want := range map[string]string{
		"a/b+c/d#":  "a/b_c/d_",
		"$SYS/x/t":  "_SYS/x/t",
		"a//b":      "a/_/b",
		"/a/b":      "_/a/b",
		"a/b\x00/c": "a/b_/c",
	} {
		if got := tp.Sample(in); got != want {
			t.Errorf("Sample(%q) = %q, want %q", in, got, want)
		}
	}
	if got := tp.OtherAlert("plc/1", "comm_loss"); got != "_otwin/n/alert/comm_loss/plc_1" {
		t.Errorf("OtherAlert = %q", got)
	}
}

func TestTopicsBadPrefix(t *testing.T) {
	for _, p := range []string{"a/+", "#", "$SYS", "a//b", "/a", "a/", "a\x00"} {
		if _, err := NewTopics(p, "n"); err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("prefix %q: err %v, want a prefix error", p, err)
		}
	}
	if _, err := NewTopics("ok", ""); err == nil {
		t.Error("empty node accepted")
	}
}
