// Package sources is the sources file: the production endpoints otwin
// reads (OPC UA servers, Modbus TCP devices) and how each reading maps into
// the unified model (asset path, canonical tag, unit, range, scaling and
// data-quality rules). The same file works against the twin and against a
// real PLC; only addresses change.
package sources

import "time"

// File is a sources file.
type File struct {
	// Defaults are the data-quality rules of every point that does not
	// override them.
	Defaults Rules `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	// Sources are the endpoints.
	Sources []Source `yaml:"sources" json:"sources"`
}

// Source is one endpoint: exactly one of OPCUA and Modbus is set.
type Source struct {
	// Name identifies the endpoint in readings, alerts and the TUI.
	Name string `yaml:"name" json:"name"`
	// OPCUA configures an OPC UA server endpoint.
	OPCUA *OPCUA `yaml:"opcua,omitempty" json:"opcua,omitempty"`
	// Modbus configures a Modbus TCP device.
	Modbus *Modbus `yaml:"modbus,omitempty" json:"modbus,omitempty"`
	// Points are the values read from the endpoint.
	Points []Point `yaml:"points,omitempty" json:"points,omitempty"`
}

// OPCUA is an OPC UA endpoint.
type OPCUA struct {
	// URL of the endpoint, e.g. opc.tcp://plc1:4840.
	URL string `yaml:"url" json:"url"`
	// SecurityMode is None (default), Sign or SignAndEncrypt.
	SecurityMode string `yaml:"security_mode,omitempty" json:"security_mode,omitempty"`
	// SecurityPolicy is None (default) or Basic256Sha256.
	SecurityPolicy string `yaml:"security_policy,omitempty" json:"security_policy,omitempty"`
	// Certificate is the PEM file of the client's certificate; when unset
	// with a secure mode, one is generated in the data directory.
	Certificate string `yaml:"certificate,omitempty" json:"certificate,omitempty"`
	// Key is the PEM file of the certificate's private key.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// TrustDir holds the PEM certificates of trusted servers; unset trusts
	// any server certificate (and says so in the log).
	TrustDir string `yaml:"trust_dir,omitempty" json:"trust_dir,omitempty"`
	// Username logs in as a user; unset is anonymous.
	Username string `yaml:"username,omitempty" json:"username,omitempty"`
	// Password of Username.
	Password string `yaml:"password,omitempty" json:"password,omitempty"`
	// PublishingInterval of the subscription. Default 500ms.
	PublishingInterval time.Duration `yaml:"publishing_interval,omitempty" json:"publishing_interval,omitempty"`
	// SamplingInterval of monitored items. Default: PublishingInterval/2.
	SamplingInterval time.Duration `yaml:"sampling_interval,omitempty" json:"sampling_interval,omitempty"`
	// QueueSize of monitored items. Default 10.
	QueueSize uint32 `yaml:"queue_size,omitempty" json:"queue_size,omitempty"`
	// Deadband is an absolute data-change deadband. Default 0.
	Deadband float64 `yaml:"deadband,omitempty" json:"deadband,omitempty"`
	// Poll reads the points every PollInterval instead of subscribing (a
	// fallback for servers without subscriptions).
	Poll bool `yaml:"poll,omitempty" json:"poll,omitempty"`
	// PollInterval of polling. Default 1s.
	PollInterval time.Duration `yaml:"poll_interval,omitempty" json:"poll_interval,omitempty"`
	// Timeout of requests and of the no-data watchdog: no notification or
	// keep-alive for this long reconnects. Default 10s.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// BrowseRoot, when set, reads every variable below this node
	// ("nsu=…;s=…"); asset and tag names come from the browse path below
	// the root ("asset/…/tag"). Points then only override mappings.
	BrowseRoot string `yaml:"browse_root,omitempty" json:"browse_root,omitempty"`
	// AssetPrefix is the asset path browsed variables hang under: a
	// variable at browse path "filler1/speed" becomes tag id
	// "<asset_prefix>/filler1/speed". Only with BrowseRoot.
	AssetPrefix string `yaml:"asset_prefix,omitempty" json:"asset_prefix,omitempty"`
}

// Modbus is a Modbus TCP device.
type Modbus struct {
	// Address is host:port.
	Address string `yaml:"address" json:"address"`
	// UnitID is the unit (slave) id. Default 1.
	UnitID int `yaml:"unit_id,omitempty" json:"unit_id,omitempty"`
	// PollInterval between polls. Default 1s.
	PollInterval time.Duration `yaml:"poll_interval,omitempty" json:"poll_interval,omitempty"`
	// Timeout of one request. Default 1s.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// MaxGap is how many unused registers a merged read may span. Default
	// 16; negative merges adjacent points only (for devices that refuse
	// reads of unmapped registers).
	MaxGap int `yaml:"max_gap,omitempty" json:"max_gap,omitempty"`
}

// Point is one value of a source and its mapping into the unified model.
type Point struct {
	// Node is the OPC UA node id, "nsu=<namespace uri>;s=<id>" (or i=, g=,
	// b=). OPC UA only.
	Node string `yaml:"node,omitempty" json:"node,omitempty"`
	// Register is the Modbus address string
	// "table:address:type[:order]", e.g. "holding:100:float32:CDAB".
	// Address is 0-based: holding register 40001 is "holding:0". Modbus
	// only.
	Register string `yaml:"register,omitempty" json:"register,omitempty"`
	// Asset is the ISA-95 asset path, e.g. "acme/plant1/packaging/line1/filler1".
	Asset string `yaml:"asset" json:"asset"`
	// Tag is the canonical tag name.
	Tag string `yaml:"tag" json:"tag"`
	// Unit is a symbol ("degC", "bar", "rpm") or UNECE code ("CEL"). For
	// OPC UA, unset takes the server's EngineeringUnits.
	Unit string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// ConvertFrom is the unit the device delivers when it differs from
	// Unit, e.g. "degF" for a point shown in degC; values (after scale and
	// offset) are converted. Known pairs: °F/°C/K, bar/kPa/mbar/Pa/MPa/psi,
	// l/h, l/min and m³/h, W/kW, ms/s, mm/m.
	ConvertFrom string `yaml:"convert_from,omitempty" json:"convert_from,omitempty"`
	// Range is the engineering range (in Unit); for OPC UA, unset takes
	// EURange.
	Range *Range `yaml:"range,omitempty" json:"range,omitempty"`
	// Scale: value = raw*scale + offset. Default 1.
	Scale float64 `yaml:"scale,omitempty" json:"scale,omitempty"`
	// Offset: value = raw*scale + offset. Default 0.
	Offset float64 `yaml:"offset,omitempty" json:"offset,omitempty"`
	// Clamp limits the value to Range and marks it clamped.
	Clamp bool `yaml:"clamp,omitempty" json:"clamp,omitempty"`
	// Rules override the file's default data-quality rules.
	Rules *Rules `yaml:"rules,omitempty" json:"rules,omitempty"`
}

// Range is an engineering range, low < high.
type Range struct {
	// Low is the lowest value of the range.
	Low float64 `yaml:"low" json:"low"`
	// High is the highest value of the range.
	High float64 `yaml:"high" json:"high"`
}

// Rules are data-quality rule settings. A zero field keeps the default;
// a negative duration or threshold disables the rule.
type Rules struct {
	// Stale: no update for this long. Default 3× the source's poll
	// interval, at least 5s; off for subscribed OPC UA points (a server
	// sends nothing while a value does not change) unless set.
	Stale time.Duration `yaml:"stale,omitempty" json:"stale,omitempty"`
	// Frozen: a numeric value identical for this long. Default off (0).
	Frozen time.Duration `yaml:"frozen,omitempty" json:"frozen,omitempty"`
	// Spike: a change larger than this fraction of the range between two
	// samples. Default 0.5. Points without a range are checked only when
	// their own rules set spike, as an absolute change.
	Spike float64 `yaml:"spike,omitempty" json:"spike,omitempty"`
	// ClockSkew: |received - source time| above this. Default 5s.
	ClockSkew time.Duration `yaml:"clock_skew,omitempty" json:"clock_skew,omitempty"`
	// CommLoss: the endpoint unanswered this long. Default 5s.
	CommLoss time.Duration `yaml:"comm_loss,omitempty" json:"comm_loss,omitempty"`
	// Deadband drops changes smaller than this (absolute). Default 0.
	Deadband float64 `yaml:"deadband,omitempty" json:"deadband,omitempty"`
}
