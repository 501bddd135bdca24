package browse

import (
	"context"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios/uaimport"
)

func TestConfigCheck(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "opc.tcp://h:4840"}, ""},
		{Config{URL: "opc.tcp://h:4840", SecurityMode: "SignAndEncrypt"}, ""},
		{Config{URL: "http://h"}, "want opc.tcp://"},
		{Config{URL: "opc.tcp://h:4840", SecurityMode: "Encrypt"}, "security mode \"Encrypt\""},
		{Config{URL: "opc.tcp://h:4840", SecurityPolicy: "Basic256Sha256"}, "needs mode Sign or SignAndEncrypt"},
		{Config{URL: "opc.tcp://h:4840", SecurityMode: "Sign", SecurityPolicy: "None"}, "needs a policy other than None"},
		{Config{URL: "opc.tcp://h:4840", Certificate: "c.pem"}, "both the certificate and the key"},
		{Config{URL: "opc.tcp://h:4840", Password: "x"}, "a password without a user name"},
	} {
		err := tt.cfg.Check()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Check(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestValue(t *testing.T) {
	lt := func(s string) *ua.LocalizedText { return &ua.LocalizedText{Text: s} }
	eo := func(v any) *ua.ExtensionObject { return &ua.ExtensionObject{Value: v} }
	for _, tt := range []struct {
		in, want any
	}{
		{true, true},
		{int8(-3), int64(-3)},
		{uint16(7), int64(7)},
		{uint64(1) << 63, uint64(1) << 63},
		{float32(1.5), 1.5},
		{"x", "x"},
		{lt("°C"), "°C"},
		{eo(&ua.EUInformation{NamespaceURI: "n", UnitID: 4408652, DisplayName: lt("°C"), Description: lt("degree Celsius")}),
			uaimport.EUInformation{NamespaceURI: "n", UnitID: 4408652, DisplayName: "°C", Description: "degree Celsius"}},
		{eo(&ua.Range{Low: -1, High: 2}), uaimport.Range{Low: -1, High: 2}},
		{[]*ua.LocalizedText{lt("Off"), nil, lt("On")}, []string{"Off", "", "On"}},
		{[]*ua.ExtensionObject{eo(&ua.EnumValueType{Value: 4, DisplayName: lt("Fault")}), eo(&ua.Range{})}, []uaimport.EnumValue{{Value: 4, Name: "Fault"}}},
		{time.Time{}, nil},
		{eo(&ua.Argument{}), nil},
	} {
		if got := value(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("value(%#v) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

// TestBrowseSilentPeer: a peer that accepts the connection and never
// answers, or closes it at once, ends the browse with an error naming the
// server, within the request timeout.
func TestBrowseSilentPeer(t *testing.T) {
	for _, silent := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var conns []net.Conn
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if !silent {
					c.Close()
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		url := "opc.tcp://" + ln.Addr().String()
		done := make(chan error, 1)
		go func() {
			_, err := Browse(context.Background(), Config{URL: url, Timeout: 200 * time.Millisecond})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.HasPrefix(err.Error(), url) {
				t.Errorf("silent=%v: Browse: %v, want an error naming %s", silent, err, url)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("silent=%v: Browse still waiting after 30s", silent)
		}
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}
}
