package modbus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tbrandon/mbserver"

	"github.com/otwin/otwin/internal/testkit"
)

func BenchmarkDecode(b *testing.B) {
	for _, p := range []string{"holding:0:int16", "holding:0:float32:ABCD", "holding:0:float32:CDAB", "holding:0:float64:GHEFCDAB", "holding:0:uint64:HGFEDCBA"} {
		r, err := ParseRegister(p)
		if err != nil {
			b.Fatal(err)
		}
		data := []byte{0x42, 0xf6, 0xe9, 0x79, 0x40, 0x5e, 0xdd, 0x2f}
		b.Run(r.Type.String()+"_"+r.Order, func(b *testing.B) {
			b.SetBytes(int64(2 * r.Count()))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPoll125 polls one read of 125 registers (125 int16 points, or
// 62 float32 points in 124 registers) from
// mbserver's own server loop with one connector, decoding every point.
func BenchmarkPoll125(b *testing.B) {
	for _, typ := range []string{"int16", "float32:CDAB"} {
		b.Run(typ, func(b *testing.B) {
			s := mbserver.NewServer()
			var addr string
			for attempt := 0; ; attempt++ {
				addr = testkit.FreeAddr(b)
				if err := s.ListenTCP(addr); err == nil {
					break
				} else if attempt == 10 {
					b.Fatal(err)
				}
			}
			defer s.Close()
			for i := range 125 {
				s.HoldingRegisters[i] = uint16(1000 + 37*i)
			}
			var points []string
			for a := 0; a+typeWidth(typ) <= 125; a += typeWidth(typ) {
				points = append(points, fmt.Sprintf("holding:%d:%s", a, typ))
			}
			c, err := New(Config{Name: "bench", Address: addr, Points: points, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			if len(planBlocks(c.regs, seq(len(c.regs)), c.cfg.MaxGap)) != 1 {
				b.Fatal("not one read")
			}
			ctx := context.Background()
			sess := c.newSession()
			defer sess.tr.close()
			if !sess.dial(ctx) {
				b.Fatal(c.Health().LastError)
			}
			b.ReportAllocs()
			t0 := time.Now()
			for b.Loop() {
				rs := sess.poll(ctx)
				if len(rs) != len(points) || rs[0].Status != nil {
					b.Fatalf("poll: %d readings, first %+v", len(rs), rs[0])
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "polls/s")
		})
	}
}

func typeWidth(typ string) int {
	if typ == "int16" {
		return 1
	}
	return 2
}
