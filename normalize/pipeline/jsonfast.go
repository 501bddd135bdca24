package pipeline

import (
	"strconv"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/jsonenc"
)

// appendSample appends s as JSON Lines writes it: the bytes
// json.Marshal makes of SampleRecord(s), without reflection — at 100,000 samples a second the encoding is most of what
// `otwin watch --headless` spends (TestAppendSampleMatchesJSON keeps the
// two the same).
func appendSample(b []byte, s *normalize.Sample) []byte {
	b = append(b, `{"type":"sample","id":`...)
	b = jsonenc.String(b, s.ID)
	b = append(b, `,"asset":`...)
	b = jsonenc.String(b, s.Asset)
	b = append(b, `,"tag":`...)
	b = jsonenc.String(b, s.Tag)
	b = append(b, `,"value":`...)
	if s.Status.IsBad() {
		b = append(b, "null"...)
	} else {
		b = jsonenc.Value(b, s.Kind, s.Value, s.Text)
	}
	if s.Unit.Symbol != "" {
		b = append(b, `,"unit":`...)
		b = jsonenc.String(b, s.Unit.Symbol)
	}
	if s.Unit.Code != "" {
		b = append(b, `,"unit_code":`...)
		b = jsonenc.String(b, s.Unit.Code)
	}
	b = append(b, `,"quality":`...)
	b = jsonenc.String(b, s.Status.Severity().String())
	b = append(b, `,"status":`...)
	b = jsonenc.String(b, s.Status.Name())
	b = append(b, `,"status_code":`...)
	b = strconv.AppendUint(b, uint64(uint32(s.Status)), 10)
	if s.Err != "" {
		b = append(b, `,"error":`...)
		b = jsonenc.String(b, s.Err)
	}
	if s.HasLastGood {
		b = append(b, `,"last_good":`...)
		b = jsonenc.Value(b, s.Kind, s.LastGood, s.LastGoodText)
		b = jsonenc.TimeField(b, "last_good_time", s.LastGoodTime)
	}
	b = jsonenc.TimeField(b, "source_time", s.SourceTime)
	b = jsonenc.TimeField(b, "server_time", s.ServerTime)
	b = jsonenc.TimeField(b, "received", s.Received)
	b = append(b, `,"source":`...)
	b = jsonenc.String(b, s.Source)
	b = append(b, `,"address":`...)
	b = jsonenc.String(b, s.Address)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, s.Seq, 10)
	if !s.Context.Empty() {
		b = append(b, `,"context":`...)
		b = s.Context.AppendJSON(b)
	}
	return append(b, '}')
}
