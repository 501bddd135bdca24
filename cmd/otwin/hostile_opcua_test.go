package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uacp"
	"github.com/gopcua/opcua/uasc"
)

// The modes of a hostileFront.
const (
	// frontBehave forwards every connection to the real server.
	frontBehave int32 = iota
	// frontNegativeLength answers the first Read with a Variant array of
	// length -7: gopcua v0.8.0 panics in its receive goroutine.
	frontNegativeLength
	// frontHugeDimensions answers the first Read with an array-dimensions
	// count of 2^30-1: gopcua v0.8.0 allocates 4 GiB for it.
	frontHugeDimensions
)

// hostileFront is an OPC UA endpoint that misbehaves on demand: a TCP
// front on 127.0.0.1 that either forwards each connection to a real
// server (frontBehave) or answers by itself — Hello, OpenSecureChannel,
// GetEndpoints, CreateSession, ActivateSession, as far as gopcua needs to
// open a session — and then sends a Read response that gopcua's decoder
// cannot survive. A server that is not ours, as broken or hostile ones
// are.
type hostileFront struct {
	t       testing.TB
	ln      net.Listener
	backend string
	mode    atomic.Int32
	// poisoned counts the poisoned responses sent.
	poisoned atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// startHostileFront listens on a free port of 127.0.0.1 in mode, with
// backend (host:port) the real server behind it; closed with the test.
func startHostileFront(t testing.TB, backend string, mode int32) *hostileFront {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &hostileFront{t: t, ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	f.mode.Store(mode)
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		f.dropAll()
		f.wg.Wait()
	})
	return f
}

// URL is the front's endpoint URL.
func (f *hostileFront) URL() string { return "opc.tcp://" + f.ln.Addr().String() }

// setMode switches the mode for new connections and drops the current
// ones, as a server restarting into another behaviour.
func (f *hostileFront) setMode(m int32) {
	f.mode.Store(m)
	f.dropAll()
}

func (f *hostileFront) track(c net.Conn, add bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if add {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *hostileFront) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}

func (f *hostileFront) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.track(c, true)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.track(c, false)
			defer c.Close()
			if m := f.mode.Load(); m == frontBehave {
				f.forward(c)
			} else {
				_ = f.hostile(c, m)
			}
		}()
	}
}

// forward copies c to and from the backend.
func (f *hostileFront) forward(c net.Conn) {
	b, err := net.DialTimeout("tcp", f.backend, time.Second)
	if err != nil {
		return
	}
	f.track(b, true)
	defer f.track(b, false)
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
}

// hostile speaks OPC UA on c (security None, anonymous) until the client
// reads a value, and answers that with the poison of mode m.
func (f *hostileFront) hostile(c net.Conn, m int32) error {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(c, hdr); err != nil || string(hdr[:4]) != "HELF" {
		return fmt.Errorf("no hello: %v", err)
	}
	if _, err := io.CopyN(io.Discard, c, int64(binary.LittleEndian.Uint32(hdr[4:]))-8); err != nil {
		return err
	}
	ack, err := (&uacp.Acknowledge{ReceiveBufSize: 1 << 16, SendBufSize: 1 << 16, MaxMessageSize: 1 << 24}).Encode()
	if err != nil {
		return err
	}
	if _, err := c.Write(append(uacpHeader("ACK", len(ack)), ack...)); err != nil {
		return err
	}
	ep := &ua.EndpointDescription{
		EndpointURL:         f.URL(),
		Server:              &ua.ApplicationDescription{ApplicationURI: "urn:hostile", ApplicationName: ua.NewLocalizedText("hostile"), ApplicationType: ua.ApplicationTypeServer},
		SecurityMode:        ua.MessageSecurityModeNone,
		SecurityPolicyURI:   ua.SecurityPolicyURINone,
		UserIdentityTokens:  []*ua.UserTokenPolicy{{PolicyID: "anonymous", TokenType: ua.UserTokenTypeAnonymous}},
		TransportProfileURI: "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary",
	}
	seq := uint32(0)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return err
		}
		size := binary.LittleEndian.Uint32(hdr[4:])
		if size < 8 || size > 1<<24 {
			return fmt.Errorf("chunk of %d bytes", size)
		}
		chunk := make([]byte, size)
		copy(chunk, hdr)
		if _, err := io.ReadFull(c, chunk[8:]); err != nil {
			return err
		}
		msg := new(uasc.Message)
		if _, err := msg.Decode(chunk); err != nil {
			return fmt.Errorf("decode request: %w", err)
		}
		reqID := msg.SequenceHeader.RequestID
		seq++
		var (
			resp   any
			typeID uint16
		)
		switch req := msg.Service.(type) {
		case *ua.OpenSecureChannelRequest:
			resp, typeID = &ua.OpenSecureChannelResponse{
				ResponseHeader: respHeader(req.RequestHeader),
				SecurityToken:  &ua.ChannelSecurityToken{ChannelID: 1, TokenID: 1, CreatedAt: time.Now(), RevisedLifetime: req.RequestedLifetime},
			}, id.OpenSecureChannelResponse_Encoding_DefaultBinary
		case *ua.GetEndpointsRequest:
			resp, typeID = &ua.GetEndpointsResponse{ResponseHeader: respHeader(req.RequestHeader), Endpoints: []*ua.EndpointDescription{ep}},
				id.GetEndpointsResponse_Encoding_DefaultBinary
		case *ua.CreateSessionRequest:
			resp, typeID = &ua.CreateSessionResponse{
				ResponseHeader:        respHeader(req.RequestHeader),
				SessionID:             ua.NewNumericNodeID(1, 1),
				AuthenticationToken:   ua.NewNumericNodeID(1, 2),
				RevisedSessionTimeout: req.RequestedSessionTimeout,
				ServerNonce:           make([]byte, 32),
				ServerEndpoints:       []*ua.EndpointDescription{ep},
				ServerSignature:       &ua.SignatureData{},
			}, id.CreateSessionResponse_Encoding_DefaultBinary
		case *ua.ActivateSessionRequest:
			resp, typeID = &ua.ActivateSessionResponse{ResponseHeader: respHeader(req.RequestHeader), ServerNonce: make([]byte, 32)},
				id.ActivateSessionResponse_Encoding_DefaultBinary
		case *ua.ReadRequest:
			body, err := poisonedRead(req, m)
			if err != nil {
				return err
			}
			resp, typeID = rawBody(body), id.ReadResponse_Encoding_DefaultBinary
			f.poisoned.Add(1)
		case *ua.CloseSessionRequest:
			resp, typeID = &ua.CloseSessionResponse{ResponseHeader: respHeader(req.RequestHeader)}, id.CloseSessionResponse_Encoding_DefaultBinary
		case *ua.CloseSecureChannelRequest:
			return nil
		default:
			return fmt.Errorf("unexpected %T", msg.Service)
		}
		h := &uasc.MessageHeader{
			Header:                  uasc.NewHeader("MSG", uasc.ChunkTypeFinal, 1),
			SymmetricSecurityHeader: &uasc.SymmetricSecurityHeader{TokenID: 1},
			SequenceHeader:          &uasc.SequenceHeader{SequenceNumber: seq, RequestID: reqID},
		}
		if msg.MessageHeader.Header.MessageType == "OPN" {
			h.Header.MessageType, h.SymmetricSecurityHeader = "OPN", nil
			h.AsymmetricSecurityHeader = &uasc.AsymmetricSecurityHeader{SecurityPolicyURI: ua.SecurityPolicyURINone}
		}
		b, err := (&uasc.Message{MessageHeader: h, TypeID: ua.NewFourByteExpandedNodeID(0, typeID), Service: resp}).Encode()
		if err != nil {
			return err
		}
		if _, err := c.Write(b); err != nil {
			return err
		}
	}
}

// uacpHeader is the 8-byte header of a Hello/Acknowledge message of n
// body bytes.
func uacpHeader(typ string, n int) []byte {
	h := append([]byte(typ), 'F', 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(h[4:], uint32(8+n))
	return h
}

func respHeader(req *ua.RequestHeader) *ua.ResponseHeader {
	h := &ua.ResponseHeader{Timestamp: time.Now(), ServiceDiagnostics: &ua.DiagnosticInfo{}, AdditionalHeader: ua.NewExtensionObject(nil)}
	if req != nil {
		h.RequestHandle = req.RequestHandle
	}
	return h
}

// rawBody is a service body encoded by hand: what no well-behaved encoder
// would write.
type rawBody []byte

func (b rawBody) Encode() ([]byte, error) { return b, nil }

// poisonedRead is a ReadResponse whose first DataValue gopcua v0.8.0
// cannot decode safely: a Variant array of length -7 (a panic in
// reflect.MakeSlice), or of length 0 with 2^30-1 array dimensions (a 4 GiB
// allocation).
func poisonedRead(req *ua.ReadRequest, m int32) ([]byte, error) {
	hdr, err := ua.Encode(respHeader(req.RequestHeader))
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	b := le.AppendUint32(hdr, 1) // one result
	b = append(b, 0x01)          // DataValue: a value
	switch m {
	case frontNegativeLength:
		b = append(b, byte(ua.TypeIDBoolean)|0x80) // Variant: an array of Boolean
		b = le.AppendUint32(b, uint32(0xFFFFFFF9)) // of length -7
	case frontHugeDimensions:
		b = append(b, byte(ua.TypeIDBoolean)|0x80|0x40) // an array with dimensions
		b = le.AppendUint32(b, 0)                       // of length 0
		b = le.AppendUint32(b, 1<<30-1)                 // and 2^30-1 dimensions
	default:
		return nil, errors.New("front behaves")
	}
	return le.AppendUint32(b, uint32(0xFFFFFFFF)), nil // no diagnostic infos
}
