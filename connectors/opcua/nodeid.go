package opcua

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gopcua/opcua/ua"
)

// nodeRef is a parsed node string: a namespace given by URI (nsu=) or by
// index (ns=), and the identifier part ("s=…", "i=…", "g=…", "b=…").
type nodeRef struct {
	// uri is the namespace URI; empty when the namespace is an index.
	uri string
	// index is the namespace index when uri is empty.
	index uint16
	// id is the identifier part, e.g. "s=Line1.Temp".
	id string
}

// byIndex says the node names its namespace by index, which can change
// when the server restarts.
func (r nodeRef) byIndex() bool { return r.uri == "" && r.index != 0 }

// parseNode parses "nsu=<uri>;<id>", "ns=<n>;<id>" or a bare "<id>"
// (namespace 0), where <id> is one of i=, s=, g=, b=. The identifier part
// is checked by building a node id from it.
func parseNode(s string) (nodeRef, error) {
	var r nodeRef
	rest := s
	switch {
	case strings.HasPrefix(s, "nsu="):
		semi := strings.IndexByte(s, ';')
		if semi < 0 {
			return r, fmt.Errorf("node %q: nsu= needs \";<id>\" after the namespace URI", s)
		}
		r.uri = s[len("nsu="):semi]
		if r.uri == "" {
			return r, fmt.Errorf("node %q: empty namespace URI", s)
		}
		rest = s[semi+1:]
	case strings.HasPrefix(s, "ns="):
		semi := strings.IndexByte(s, ';')
		if semi < 0 {
			return r, fmt.Errorf("node %q: ns= needs \";<id>\" after the namespace index", s)
		}
		n, err := strconv.ParseUint(s[len("ns="):semi], 10, 16)
		if err != nil {
			return r, fmt.Errorf("node %q: namespace index: %w", s, err)
		}
		r.index = uint16(n)
		rest = s[semi+1:]
	}
	if len(rest) < 3 || rest[1] != '=' || !strings.ContainsRune("isgb", rune(rest[0])) {
		return r, fmt.Errorf("node %q: identifier must be i=<n>, s=<string>, g=<guid> or b=<base64>", s)
	}
	r.id = rest
	if _, err := r.nodeID(1); err != nil {
		return r, fmt.Errorf("node %q: %w", s, err)
	}
	return r, nil
}

// nodeID builds the node id in namespace ns.
func (r nodeRef) nodeID(ns uint16) (*ua.NodeID, error) {
	id, err := ua.ParseNodeID(fmt.Sprintf("ns=%d;%s", ns, r.id))
	if err != nil {
		return nil, err
	}
	// ParseNodeID picks the smallest numeric encoding, which can drop the
	// namespace of a two-byte id; keep the namespace we asked for.
	if id.Namespace() != ns {
		return nil, fmt.Errorf("namespace %d not representable for %q", ns, r.id)
	}
	return id, nil
}

// resolve finds the namespace index of r in the server's namespace array.
func (r nodeRef) resolve(namespaces []string) (*ua.NodeID, error) {
	if r.uri == "" {
		if int(r.index) >= len(namespaces) && len(namespaces) > 0 {
			return nil, fmt.Errorf("namespace index %d not on server (%d namespaces)", r.index, len(namespaces))
		}
		return r.nodeID(r.index)
	}
	for i, u := range namespaces {
		if u == r.uri {
			return r.nodeID(uint16(i))
		}
	}
	return nil, fmt.Errorf("namespace %q not on server", r.uri)
}

// idPart is the identifier part of a node id, without its namespace:
// "s=…", "i=…", "g=…" or "b=…".
func idPart(id *ua.NodeID) string {
	s := id.String()
	if strings.HasPrefix(s, "ns=") {
		if semi := strings.IndexByte(s, ';'); semi >= 0 {
			return s[semi+1:]
		}
	}
	return s
}

// canonicalAddress is "nsu=<uri>;<id part>" for a node found by browsing;
// nodes in namespace 0 or in an index the array does not name keep the
// plain form.
func canonicalAddress(id *ua.NodeID, namespaces []string) string {
	ns := int(id.Namespace())
	if ns == 0 || ns >= len(namespaces) {
		return id.String()
	}
	return "nsu=" + namespaces[ns] + ";" + idPart(id)
}
