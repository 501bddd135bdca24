// Package isolate runs a connector in a child process of its own, so that
// an endpoint that crashes or exhausts its client library takes down only
// that process, never the collector.
//
// Some client libraries cannot be defended from inside: gopcua v0.8.0
// decodes server messages in a goroutine of its own, where a negative
// array length panics (no recover reaches it) and a 14-byte array
// dimension count allocates ~4 GiB. A broken or hostile server could end
// a collector that reads hundreds of healthy endpoints. Isolation is a
// property of the collector, not of a connector: any registered kind can
// run isolated (connectors.Kind.Isolate is the kind's default; a sources
// file's `isolate:` overrides it per source).
//
// # How
//
// New builds the connector once in the parent, to report configuration
// problems there, and Run starts the child: this program again (Options.
// Command; otwin's hidden subcommand "connector-child", ChildArg), which
// calls Serve. The parent sends the kind, the endpoint's name, points and
// configuration (the kind's configuration type as JSON) on the child's
// standard input, and keeps it open: its end tells the child to stop. The
// child builds the connector through the kind registry and sends back
// frames on its standard output:
//
//	readings   every field of connectors.Reading, compact: source, address
//	           and status texts once and then by number, varints, raw
//	           float64; flushed whenever no reading is waiting
//	health     connectors.Health whenever it changes (checked before each
//	           batch of readings, so a state change precedes the readings
//	           that follow it, and every Options.HealthEvery, 25ms)
//	log        the connector's slog records, logged again by the parent
//	end        the connector gave up (its Run returned an error)
//
// A child that ends otherwise is started again with backoff (200ms
// doubling to 5s); meanwhile its Health is Down with the reason — the
// first "panic:" or "fatal error:" line of the child's standard error, or
// its exit status — and every address it read gets one link-down reading
// (Reading.LinkDown, Bad_NoCommunication saying so). Counters (errors, reconnects, sequence gaps) carry
// on across children; a restarted child that connects counts as a
// reconnect.
//
// # Memory
//
// A child sets its runtime's soft memory limit to 3/4 of
// Options.MemoryLimit (1 GiB) and checks every 20ms how much memory its
// runtime maps; above the limit it ends at once with "fatal error:
// connector process memory limit exceeded". The Go runtime never unmaps
// its heap, so a single huge allocation shows even when it is freed at
// once. On Linux the parent also reads the child's resident memory every
// 250ms and kills it above 1.5× the limit.
//
// # Cost
//
// BenchmarkPipe measures readings per second a consumer receives from a
// connector sending as fast as it can, through a child against the same
// connector in-process. Measured on a 2-core AMD EPYC VM under heavy load
// (load average 12), medians of five runs: 1.5M readings/s through a
// child against 5.7M/s in-process — 15 times the 100k changes/s a
// collector is sized for. A float reading takes ~18 bytes on the pipe and
// ~0.2µs to encode and decode (BenchmarkCodec). Against a real server
// (cmd/otwin's BenchmarkE2EThroughputOPCUA10k, 10k tags at 1 Hz) the rate
// is the same isolated or not.
//
// # Opting out
//
// A source with `isolate: false` runs its connector inside the collector
// (one process fewer, no pipe); do that only for endpoints on a trusted
// network.
package isolate
