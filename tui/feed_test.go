package tui_test

import (
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui"
)

type batch struct {
	ids []string
}

func TestAdaptFeed(t *testing.T) {
	cases := []struct {
		name        string
		closeSource bool // the source ends, rather than the consumer
	}{
		{"consumer closes", false},
		{"source ends", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := make(chan batch, 4)
			srcClosed := make(chan struct{})
			f := tui.AdaptFeed(src, func(b batch) tui.Update {
				u := tui.Update{}
				for _, id := range b.ids {
					u.Samples = append(u.Samples, normalize.Sample{ID: id})
				}
				return u
			}, func() { close(srcClosed) }, func() uint64 { return 7 })
			src <- batch{ids: []string{"a", "b"}}
			select {
			case u := <-f.C():
				if len(u.Samples) != 2 || u.Samples[1].ID != "b" {
					t.Fatalf("update %+v", u)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no update")
			}
			if dc, ok := f.(tui.DropCounter); !ok || dc.Dropped() != 7 {
				t.Errorf("drop counter missing or wrong")
			}
			if c.closeSource {
				close(src)
			} else {
				src <- batch{ids: []string{"c"}} // pending while closing
				f.Close()
				select {
				case <-srcClosed:
				default:
					t.Error("source not closed by Close")
				}
			}
			deadline := time.After(5 * time.Second)
			for {
				select {
				case _, ok := <-f.C():
					if !ok {
						f.Close() // idempotent
						return
					}
				case <-deadline:
					t.Fatal("C not closed")
				}
			}
		})
	}
}
