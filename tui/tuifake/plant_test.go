package tuifake

import (
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui"
)

func TestPlant(t *testing.T) {
	p := NewLine()
	p.User = "bob"
	f := p.Subscribe()
	if err := p.Ack("comm_loss:press2-mb", "seen"); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-f.C():
		if len(u.Alerts) != 1 || u.Alerts[0].State != normalize.ActiveAcked || u.Alerts[0].AckedBy != "bob" {
			t.Errorf("ack update %+v", u.Alerts)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no update after ack")
	}
	if err := p.Ack("comm_loss:press2-mb", ""); err == nil {
		t.Error("second ack accepted")
	}
	if err := p.Shelve("nope", "x", time.Minute, false); err == nil {
		t.Error("shelve of an unknown alert accepted")
	}
	// a full buffer drops and counts instead of blocking
	for i := 0; i < 40; i++ {
		p.Tick(i, Epoch)
	}
	if d := f.(tui.DropCounter).Dropped(); d == 0 {
		t.Error("no drops counted")
	}
	f.Close()
	f.Close()
	if p.Subscribers() != 0 {
		t.Error("feed still subscribed")
	}
	p.Role = tui.RoleOperator
	if err := p.Inject("robot1-torque-stuck"); err == nil {
		t.Error("operator injected a fault")
	}
	if h := p.History("x", nil); len(h) != 90 {
		t.Errorf("history of %d values", len(h))
	}
}
