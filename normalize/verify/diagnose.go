package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/modbus"
)

// diagnose looks closer at the points that read wrong, over a second
// series of rounds: Modbus points read the registers around them, OPC UA
// points browse their server.
func (c *check) diagnose(ctx context.Context, tw Twin, wrong []*point, rounds1 []round) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mbs []*mbDiag
	probes := map[*source]*modbus.Probe{}
	uaSrcs := map[*source]bool{}
	var uaPts []*point
	for _, pt := range wrong {
		switch {
		case pt.src.mb != nil:
			mbs = append(mbs, &mbDiag{pt: pt, stage: 1})
			if probes[pt.src] == nil {
				p := modbus.NewProbe(pt.src.mb.Address, pt.src.mb.Timeout)
				defer p.Close()
				probes[pt.src] = p
			}
		case pt.src.ua != nil:
			uaPts = append(uaPts, pt)
			uaSrcs[pt.src] = true
		default:
			c.unexplained(pt, nil)
		}
	}
	browse := newFeed(nil)
	var bconns []connectors.Connector
	settle := time.Duration(0)
	for src := range uaSrcs {
		for _, root := range c.browseRoots(src) {
			conn, err := browseConfig(src, root).NewConnector(browseName(src), nil, c.opts.Env)
			if err != nil {
				return fmt.Errorf("verify: browse %s: %w", src.s.Name, err)
			}
			bconns = append(bconns, conn)
		}
		settle = max(settle, src.settle)
	}
	wait := browse.start(ctx, bconns, c.opts.Logger.Debug)
	defer func() { cancel(); wait() }()
	if len(bconns) > 0 {
		c.poll(ctx, time.Now().Add(c.opts.Settle), func() bool {
			for src := range uaSrcs {
				if len(browse.snapshot(browseName(src))) == 0 {
					return false
				}
			}
			return true
		})
	}

	rounds := make([]round, 0, c.opts.Rounds)
	imgs := map[*source][]image{}
	snaps := map[*source][]map[string]entry{}
	probeErr := map[*source]error{}
	for r := range c.opts.Rounds {
		if err := tw.Step(ctx, c.opts.StepTicks); err != nil {
			return fmt.Errorf("step the twin: %w", err)
		}
		mark := time.Now()
		truth, err := tw.Truth(ctx)
		if err != nil {
			return fmt.Errorf("read the twin's truth: %w", err)
		}
		rounds = append(rounds, round{truth: truth})
		for src := range probes {
			imgs[src] = append(imgs[src], image{})
		}
		for _, d := range mbs {
			src := d.pt.src
			if probeErr[src] != nil {
				continue
			}
			if err := c.readStages(ctx, d, probes[src], rounds, imgs[src][:r+1]); err != nil {
				probeErr[src] = err
			}
		}
		if len(bconns) > 0 {
			c.poll(ctx, mark.Add(settle), func() bool { return false })
			for src := range uaSrcs {
				snaps[src] = append(snaps[src], browse.snapshot(browseName(src)))
			}
		}
	}
	for _, d := range mbs {
		c.explainModbus(d, rounds, imgs[d.pt.src], probeErr[d.pt.src])
	}
	for _, pt := range uaPts {
		c.explainOPCUA(pt, rounds1, rounds, snaps[pt.src])
	}
	return nil
}

// readStages reads d's registers at the last of rounds into the last
// image, reaching further (the unit's other tables, then the endpoint's
// other unit ids) while nothing within reach explains the point.
func (c *check) readStages(ctx context.Context, d *mbDiag, p *modbus.Probe, rounds []round, imgs []image) error {
	img := imgs[len(imgs)-1]
	for s := 1; s <= d.stage; s++ {
		if err := readSpans(ctx, p, img, d.spans(s)); err != nil {
			return err
		}
	}
	for d.stage < 3 {
		if cand, ok := c.best(d, d.stage, c.tagsToTry(d.pt), rounds, imgs); ok && len(cand.changes) <= 2 {
			return nil
		}
		d.stage++
		if err := readSpans(ctx, p, img, d.spans(d.stage)); err != nil {
			return err
		}
	}
	return nil
}

// browseName names the connector browsing src's server.
func browseName(src *source) string { return src.s.Name + " (browsing)" }
