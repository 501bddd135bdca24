// Package opcua is otwin's production OPC UA connector: it reads one OPC UA
// server (a real PLC or the twin) with the gopcua client and delivers every
// value as a connectors.Reading, telling the truth about each one,
// recovering by itself and losing nothing silently.
//
// # Use
//
//	c, err := opcua.New(opcua.Config{Name: "press3", URL: "opc.tcp://plc:4840",
//		Nodes: []string{"nsu=urn:acme:press3;s=Press3.Hydraulics.Pressure"}})
//	// err lists every invalid field or node at once
//	go c.Run(ctx, out) // returns nil when ctx ends; never closes out
//	h := c.Health()    // any goroutine
//
// The package registers the connector kind "opcua" (connectors.Register):
// Config is the "opcua" section of a sources file, its points' key is
// "node" (ParseNode), and the collector runs it isolated in a child
// process by default (see the known limit below).
//
// # Configuration reference
//
// Config is the reference; testdata/sample.yaml is a complete, tested
// example of the section. Name, Nodes (the points), DataDir and Logger
// come from beside it (the source's name and points, the process).
//
//	url                  opc.tcp://host:port[/path] (required)
//	security_mode        None (default) | Sign | SignAndEncrypt
//	security_policy      None | Basic256Sha256 (default with a secure mode)
//	certificate, key     client certificate and RSA key (PEM); both or neither.
//	                     Neither with a secure mode: a self-signed certificate is
//	                     generated into the data directory once
//	                     (opcua-client-cert.pem, opcua-client-key.pem) and reused;
//	                     servers must trust it.
//	trust_dir            trusted server certificates (PEM/DER, *.pem *.crt *.der
//	                     *.cer); unset trusts any server and logs a warning
//	                     once. A server not in it is refused.
//	username, password   user login; unset is anonymous
//	publishing_interval  subscription publishing interval (500ms)
//	sampling_interval    monitored-item sampling interval (publishing/2)
//	queue_size           monitored-item queue on the server (10)
//	deadband             absolute data-change deadband (0 = every change);
//	                     items whose type refuses it are monitored without
//	poll, poll_interval  read every poll_interval (1s) instead of subscribing
//	timeout              every request, and the no-data watchdog (10s; at least
//	                     100ms and, subscribed, twice publishing_interval)
//	browse_root          read every variable below this node too
//	asset_prefix         where the normalizer hangs browsed variables
//	alarms               relay the server's alarms (Alarms and Conditions) and
//	                     pass acknowledgements to it; unset: when the Server
//	                     object is an event notifier (see events.go)
//
// # Addresses
//
// A node is "nsu=<namespace uri>;<id>" with <id> one of i=<uint32>,
// s=<string>, g=<guid>, b=<base64>; a namespace 0 id stands alone
// ("i=2258"). A namespace index ("ns=2;…") is refused: indexes can change
// when a server restarts. ParseNode is this rule, for the sources file
// and the connector alike. The namespace URI is resolved to its index
// after every (re)connect. Reading.Address is the node string exactly as
// configured; a variable found below browse_root has the address
// "nsu=<uri>;<id>" and Info.BrowsePath the browse names below the root
// ("Line1/Temp"). Browsing follows hierarchical references (not
// HasProperty) through objects; variables are not descended into. A
// browsed variable whose values cannot be readings (an array by its
// ValueRank, or a DataType deriving from Structure, DataValue,
// DiagnosticInfo or XmlElement, such as the Server object's ServerStatus)
// is left out, with one info line per variable and connect; a configured
// one is read and says Bad_TypeMismatch.
//
// # What a reading says
//
// Raw is bool, int64 (signed types), uint64 (unsigned types and Byte),
// float64 (Float, Double) or string (String, LocalizedText, DateTime as
// RFC 3339, NodeId, Guid, ByteString as base64). Status is nil for a Good
// value with status 0; any other server status travels as
// connectors.StatusCode, so Good-with-info-bits, Uncertain and Bad codes
// pass through unchanged (classify them by severity); an Uncertain value
// keeps its Raw. Arrays and structures become Bad_TypeMismatch, a Good
// value without a value Bad_WaitingForInitialData, a node whose namespace
// is not on the server Bad_NodeIdUnknown, an item the server refuses its
// status. SourceTime and ServerTime come from the DataValue (zero when
// absent); Received is the local clock.
//
// Info (connectors.PointInfo) rides on the first reading of each point
// after every (re)connect: DisplayName, Description, DataType (built-in
// name, e.g. "Double"), Writable (AccessLevel CurrentWrite), and the
// EngineeringUnits (EUInformation: unit id and display name) and EURange
// properties, found through HasProperty references.
//
// # Subscription, liveness and recovery
//
// One subscription holds every point, created in batches no larger than the
// server's MaxMonitoredItemsPerCall (read from its OperationLimits; default
// and cap 1000); reads and browses likewise honour MaxNodesPerRead and
// MaxNodesPerBrowse. MaxNotificationsPerPublish is set to items × queue
// size (gopcua would silently put 10000). The connector runs its own
// Publish loop (gopcua's subscription layer hides sequence numbers and
// keep-alives): it acknowledges what it received, counts missing sequence
// numbers into Health.SequenceGaps, and asks the server to Republish up to
// 64 missing messages per gap (Stats.Republished; what cannot be recovered
// is Stats.Lost). Keep-alives are requested every timeout/3 and count as
// liveness.
//
// A request unanswered for timeout (a Publish included: no data and no
// keep-alive) drops the connection, as does any failed request. Then Health
// goes Down, every known address gets one link-down reading (LinkDown set,
// Status Bad_NoCommunication reading as the cause, no value; downstream
// keeps the last good value and raises one alert for the endpoint),
// and the connector reconnects with backoff from 100ms doubling to 5s:
// new secure channel and session, namespaces resolved again, browse and
// Info again, a new subscription whose first values are the server's
// current ones. gopcua's own auto-reconnect is disabled (it can sit
// "connected" without data); each connection is a fresh client.
//
// No value older than one already delivered is ever delivered for the same
// address, across reconnects too: a ServerTime older than the newest
// ServerTime delivered (or, for values without one, a SourceTime older
// than the newest such SourceTime) is dropped and counted in
// Stats.OutOfOrder. The server's clock orders values because a device's
// clock may step back; its skew is the normalizer's to report. Equal timestamps are delivered (the normalizer
// deduplicates).
//
// Health.Latency is the round trip of the last Read (polls, and a read of
// the server clock every timeout/3 in subscription mode).
//
// # Known limit of the client library
//
// gopcua v0.8.0 decodes server messages in its own goroutine without
// recover: a Variant array with a negative length panics and a huge
// array-dimensions count allocates gigabytes (found by fuzzing; see
// TestGopcuaDecoderPanics). A broken or hostile server can therefore end
// the process that runs this connector. The kind is registered with
// Isolate set: the collector runs each OPC UA source in a child process
// of its own (connectors/isolate), so such a server ends only that
// process, which is restarted, and the other endpoints go on.
//
// # Concurrency
//
// New, Name, Config, Health and Stats are safe for concurrent use; Run may
// run once at a time per Connector and blocks on out when the consumer is
// slow (nothing is dropped). Run logs through Config.Logger with the keys
// source, url, node, err.
package opcua
