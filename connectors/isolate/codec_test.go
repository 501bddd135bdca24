package isolate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	_ "github.com/otwin/otwin/connectors/all"
)

// fill sets every field of the struct v points to, recursively, to a
// distinct non-zero value; fields tagged json:"-" are left alone. A field
// of a kind it does not know fails the test: a field added to Reading or
// Health must be taught here and to the codec.
func fill(t *testing.T, v reflect.Value, path string, seed *int) {
	t.Helper()
	*seed++
	n := *seed
	switch {
	case v.Type() == reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(time.Unix(int64(n)*1000003, int64(n)*7919)))
		return
	case v.Type() == reflect.TypeOf((*error)(nil)).Elem():
		v.Set(reflect.ValueOf(error(&connectors.StatusError{Code: connectors.BadDeviceFailure, Err: fmt.Errorf("error %d", n)})))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.Tag.Get("json") != "-" {
				fill(t, v.Field(i), path+"."+f.Name, seed)
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), path, seed)
		v.Set(p)
	case reflect.String:
		v.SetString(fmt.Sprintf("%s=%d", path, n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.25)
	case reflect.Interface:
		v.Set(reflect.ValueOf(float64(n) + 0.5))
	default:
		t.Fatalf("field %s: kind %s unknown to the test: teach it (and the pipe's codec) the new field", path, v.Kind())
	}
}

// same reports the first difference between want and got, by field path:
// times compare with Equal, errors by text and carried status code.
func same(want, got reflect.Value, path string) string {
	switch {
	case want.Type() == reflect.TypeOf(time.Time{}):
		if !want.Interface().(time.Time).Equal(got.Interface().(time.Time)) {
			return fmt.Sprintf("%s: %v, want %v", path, got, want)
		}
		return ""
	case want.Type() == reflect.TypeOf((*error)(nil)).Elem():
		we, _ := want.Interface().(error)
		ge, _ := got.Interface().(error)
		if (we == nil) != (ge == nil) {
			return fmt.Sprintf("%s: %v, want %v", path, ge, we)
		}
		if we == nil {
			return ""
		}
		wc, wok := connectors.StatusOf(we)
		gc, gok := connectors.StatusOf(ge)
		if we.Error() != ge.Error() || wc != gc || wok != gok {
			return fmt.Sprintf("%s: %q (%v %v), want %q (%v %v)", path, ge, gc, gok, we, wc, wok)
		}
		return ""
	}
	switch want.Kind() {
	case reflect.Struct:
		for i := 0; i < want.NumField(); i++ {
			if d := same(want.Field(i), got.Field(i), path+"."+want.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Pointer:
		if want.IsNil() != got.IsNil() {
			return fmt.Sprintf("%s: nil %v, want nil %v", path, got.IsNil(), want.IsNil())
		}
		if want.IsNil() {
			return ""
		}
		return same(want.Elem(), got.Elem(), path)
	case reflect.Interface:
		w, g := want.Interface(), got.Interface()
		if wf, ok := w.(float64); ok && math.IsNaN(wf) {
			if gf, ok := g.(float64); ok && math.IsNaN(gf) {
				return ""
			}
		}
		if !reflect.DeepEqual(w, g) {
			return fmt.Sprintf("%s: %#v, want %#v", path, g, w)
		}
		return ""
	default:
		if !reflect.DeepEqual(want.Interface(), got.Interface()) {
			return fmt.Sprintf("%s: %#v, want %#v", path, got.Interface(), want.Interface())
		}
		return ""
	}
}

// pipe encodes with f and returns a decoder of what was written.
func pipe(t *testing.T, f func(e *encoder) error) *decoder {
	t.Helper()
	var b bytes.Buffer
	e := newEncoder(&b)
	if err := f(e); err != nil {
		t.Fatal(err)
	}
	if err := e.flush(); err != nil {
		t.Fatal(err)
	}
	return newDecoder(&b)
}

func TestRoundTripEveryField(t *testing.T) {
	seed := 0
	var r connectors.Reading
	fill(t, reflect.ValueOf(&r).Elem(), "Reading", &seed)
	var h connectors.Health
	fill(t, reflect.ValueOf(&h).Elem(), "Health", &seed)
	h.State = connectors.Down

	d := pipe(t, func(e *encoder) error {
		if err := e.reading(&r); err != nil {
			return err
		}
		return e.health(&h)
	})
	if typ, err := d.next(); err != nil || typ != frameReading {
		t.Fatalf("first frame %q, %v", typ, err)
	}
	var gr connectors.Reading
	if err := d.reading(&gr); err != nil {
		t.Fatal(err)
	}
	if diff := same(reflect.ValueOf(r), reflect.ValueOf(gr), "Reading"); diff != "" {
		t.Errorf("reading through the pipe: %s", diff)
	}
	if typ, err := d.next(); err != nil || typ != frameHealth {
		t.Fatalf("second frame %q, %v", typ, err)
	}
	var gh connectors.Health
	if err := d.health(&gh); err != nil {
		t.Fatal(err)
	}
	if diff := same(reflect.ValueOf(h), reflect.ValueOf(gh), "Health"); diff != "" {
		t.Errorf("health through the pipe: %s", diff)
	}
	if _, err := d.next(); err != io.EOF {
		t.Errorf("after the frames: %v, want EOF", err)
	}
}

func TestRoundTripValues(t *testing.T) {
	wrapped := fmt.Errorf("read on x: %w", connectors.BadNoCommunication)
	plain := errors.New("connection reset")
	long := time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	early := time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
	tests := []connectors.Reading{
		{Source: "s", Address: "a"},
		{Source: "s", Address: "a", Raw: true},
		{Source: "s", Address: "a", Raw: false},
		{Source: "s", Address: "a", Raw: int64(math.MinInt64)},
		{Source: "s", Address: "a", Raw: int64(math.MaxInt64)},
		{Source: "s", Address: "a", Raw: uint64(math.MaxUint64)},
		{Source: "s", Address: "a", Raw: math.Inf(-1), Status: connectors.BadDecodingError},
		{Source: "s", Address: "a", Raw: math.NaN()},
		{Source: "s", Address: "a", Raw: math.Copysign(0, -1)},
		{Source: "s", Address: "a", Raw: "", Status: plain},
		{Source: "s", Address: "ä;s=Ünïcode", Raw: "tëxt\x00with nul", Status: wrapped},
		{Source: "", Address: "", Raw: nil, Status: connectors.UncertainNoCommunicationLastUsableValue, SourceTime: long, ServerTime: early, Received: early},
	}
	d := pipe(t, func(e *encoder) error {
		for i := range tests {
			if err := e.reading(&tests[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i, want := range tests {
		if _, err := d.next(); err != nil {
			t.Fatal(err)
		}
		var got connectors.Reading
		if err := d.reading(&got); err != nil {
			t.Fatal(err)
		}
		if diff := same(reflect.ValueOf(want), reflect.ValueOf(got), fmt.Sprintf("reading %d", i)); diff != "" {
			t.Error(diff)
		}
		if f, ok := want.Raw.(float64); ok && f == 0 && math.Signbit(f) != math.Signbit(got.Raw.(float64)) {
			t.Errorf("reading %d: -0 lost its sign", i)
		}
	}
	// A bare code stays the code itself, so comparisons with it hold.
	var got connectors.Reading
	d = pipe(t, func(e *encoder) error {
		return e.reading(&connectors.Reading{Status: connectors.BadNoCommunication})
	})
	if _, err := d.next(); err != nil {
		t.Fatal(err)
	}
	if err := d.reading(&got); err != nil || got.Status != connectors.BadNoCommunication {
		t.Errorf("bare code through the pipe: %#v, %v", got.Status, err)
	}
}

func TestUnsupportedRaw(t *testing.T) {
	e := newEncoder(io.Discard)
	err := e.reading(&connectors.Reading{Raw: []float64{1}})
	if !errors.Is(err, errUnsupported) || !strings.Contains(err.Error(), "[]float64") {
		t.Errorf("error %v, want errUnsupported naming the type", err)
	}
}

// TestRepeatedStringsSentOnce: the second reading of an address costs no
// more than a few bytes of it.
func TestRepeatedStringsSentOnce(t *testing.T) {
	var b bytes.Buffer
	e := newEncoder(&b)
	r := connectors.Reading{Source: "press-plc", Address: "nsu=urn:acme:plant1;s=bottling/line1/filler1/temperature", Raw: 21.5, Received: time.Now()}
	if err := e.reading(&r); err != nil {
		t.Fatal(err)
	}
	_ = e.flush()
	first := b.Len()
	if err := e.reading(&r); err != nil {
		t.Fatal(err)
	}
	_ = e.flush()
	second := b.Len() - first
	if second > 20 || second >= first/2 {
		t.Errorf("first reading %d bytes, the same again %d: strings not sent by number", first, second)
	}
	t.Logf("a float reading: %d bytes the first time, %d after", first, second)
}

func TestLogAndEndFrames(t *testing.T) {
	d := pipe(t, func(e *encoder) error {
		if err := e.log(slog.LevelWarn, "connection lost", []slog.Attr{slog.String("url", "opc.tcp://x"), slog.Int("n", 3)}); err != nil {
			return err
		}
		return e.end(errors.New("cannot go on"))
	})
	if typ, _ := d.next(); typ != frameLog {
		t.Fatalf("frame %q", typ)
	}
	rec, err := d.log()
	if err != nil || rec.level != slog.LevelWarn || rec.msg != "connection lost" ||
		!reflect.DeepEqual(rec.args, []any{"url", "opc.tcp://x", "n", "3"}) {
		t.Errorf("log %+v, %v", rec, err)
	}
	if typ, _ := d.next(); typ != frameEnd {
		t.Fatalf("frame %q", typ)
	}
	if fatal, err := d.end(); err != nil || fatal.Error() != "cannot go on" {
		t.Errorf("end %v, %v", fatal, err)
	}
}

// FuzzDecoder: whatever arrives on the pipe is decoded or refused with an
// error, never a panic, and never a huge allocation.
func FuzzDecoder(f *testing.F) {
	var b bytes.Buffer
	e := newEncoder(&b)
	_ = e.reading(&connectors.Reading{Source: "s", Address: "a", Raw: 1.5, Status: connectors.BadNoCommunication, Received: time.Unix(1, 2),
		Info: &connectors.PointInfo{DisplayName: "d", HasUnit: true, UnitID: 4408652}})
	_ = e.reading(&connectors.Reading{Source: "s", Address: "a", Raw: "x", Status: errors.New("e")})
	_ = e.health(&connectors.Health{Source: "s", State: connectors.Down, LastError: errors.New("down"), Since: time.Unix(5, 0)})
	_ = e.log(slog.LevelInfo, "m", []slog.Attr{slog.String("k", "v")})
	_ = e.end(errors.New("end"))
	_ = e.flush()
	f.Add(b.Bytes())
	f.Add([]byte{frameReading, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{frameLog, 5, 0, 0, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newDecoder(bytes.NewReader(data))
		for {
			typ, err := d.next()
			if err != nil {
				return
			}
			switch typ {
			case frameReading:
				var r connectors.Reading
				_ = d.reading(&r)
			case frameHealth:
				var h connectors.Health
				_ = d.health(&h)
			case frameLog:
				_, _ = d.log()
			case frameEnd:
				_, _ = d.end()
			}
		}
	})
}

// BenchmarkCodec: one reading encoded and decoded (1000 addresses, float
// values, received times microseconds apart), and its size on the pipe.
func BenchmarkCodec(b *testing.B) {
	var buf bytes.Buffer
	e := newEncoder(&buf)
	d := newDecoder(&buf)
	rs := make([]connectors.Reading, 1000)
	t0 := time.Now()
	for i := range rs {
		rs[i] = connectors.Reading{Source: "press-plc", Address: fmt.Sprintf("nsu=urn:acme:plant1;s=line1/machine%03d/value", i),
			Raw: float64(i) * 1.5, Received: t0.Add(time.Duration(i) * time.Microsecond)}
	}
	var got connectors.Reading
	var bytesOut int
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := &rs[i%len(rs)]
		r.Received = r.Received.Add(time.Millisecond)
		if err := e.reading(r); err != nil {
			b.Fatal(err)
		}
		if err := e.flush(); err != nil {
			b.Fatal(err)
		}
		bytesOut += buf.Len()
		if _, err := d.next(); err != nil {
			b.Fatal(err)
		}
		if err := d.reading(&got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bytesOut)/float64(b.N), "bytes/reading")
}

// TestKindConfigsCrossThePipe: every registered kind's configuration
// reaches the child whole (the parent sends it as JSON), every field the
// sources file can set included.
func TestKindConfigsCrossThePipe(t *testing.T) {
	for _, k := range connectors.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			cfg := k.NewConfig()
			seed := 0
			fill(t, reflect.ValueOf(cfg).Elem(), k.Name, &seed)
			b, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := k.ZeroConfig()
			if err := json.Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, got) {
				t.Errorf("%s configuration through JSON:\n got %+v\nwant %+v", k.Name, got, cfg)
			}
		})
	}
}
