package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
	"github.com/otwin/otwin/normalize/uns/mqttpub"
	"github.com/otwin/otwin/normalize/uns/mqttsub"
)

// This file joins collectors and the dashboards that read them from a
// broker: `otwin watch mqtt://…` and `otwin ssh --broker …` without
// sources read every collector publishing under the prefix
// (normalize/uns/mqttsub), and a collector takes the actions of those
// dashboards' users on its alerts (takeCommand).

// readerConfig is the reader's configuration from the MQTT flags, for the
// broker at url.
func (o *mqttOptions) readerConfig(url string, logger *slog.Logger) mqttsub.Config {
	cfg := mqttsub.Config{
		Settings: mqttconn.Settings{
			Broker: url, Username: o.user, Password: o.passwordOrEnv(),
			CAFile: o.ca, CertFile: o.cert, KeyFile: o.key,
		},
		Prefix: o.prefix, Node: o.node, ClientID: o.clientID, Logger: logger,
	}
	if o.events != nil {
		cfg.OnEvent, cfg.AfterEvents = o.events.Handle, o.afterEvents
	}
	return cfg
}

// startReader starts a dashboard's reading of the collectors that publish
// to the broker of the flags (the embedded one, started here, with
// --broker embedded: a central broker other sites link to): a store
// filled by the reader, as a collector without connectors. It fails when
// the broker cannot be reached, refuses the credentials or the
// subscription, or fails TLS, and says where it reads on out. The
// returned stop closes the reader, then the broker.
func (o *mqttOptions) startReader(ctx context.Context, dataDir string, out io.Writer, logger *slog.Logger) (*collector, func(), error) {
	if o.format != "json" || o.qos != 1 || o.storeDir != "" {
		return nil, nil, fmt.Errorf("reading collectors from a broker: --mqtt-format, --mqtt-qos and --mqtt-store are for publishing")
	}
	log := logger.With("part", "mqtt")
	emb, url, err := o.startEmbedded(dataDir, log)
	if err != nil {
		return nil, nil, err
	}
	closeBroker := func() {
		if emb != nil {
			emb.Close()
		}
	}
	st := store.New(store.Config{}) // the collectors hold their alerts' state
	rd, err := mqttsub.New(o.readerConfig(url, log), st)
	if err == nil {
		err = rd.Start(ctx)
	}
	if err != nil {
		closeBroker()
		return nil, nil, err
	}
	fmt.Fprintf(out, "otwin: reading the collectors that publish to %s (topics under %q)\n", brokerShown(emb, url, out), o.readPrefixShown())
	return &collector{Store: st, Remote: rd, Route: &alertRoute{st: st, remote: rd}}, func() {
		rd.Close()
		closeBroker()
	}, nil
}

func (o *mqttOptions) readPrefixShown() string {
	if o.prefix == "" {
		return "#"
	}
	return o.prefix + "/#"
}

// takeCommand is the collector's handler of the commands of dashboards
// that read it from a broker: a user's action on one of its alerts, taken
// with the rights of the user's role and through the same way as a local
// action (to the alert's owner when it has one), and logged.
func (c *collector) takeCommand(log *slog.Logger) mqttpub.CommandHandler {
	return func(cmd *uns.Command) (normalize.Alert, error) {
		sess := &session{user: cmd.User, role: cmd.Role, policy: rolePolicy(cmd.Role, false), remote: "mqtt"}
		b := c.backend(sess)
		var err error
		switch cmd.Action {
		case uns.ActionAck:
			err = b.Ack(cmd.AlertID, cmd.Comment)
		case uns.ActionShelve:
			err = b.Shelve(cmd.AlertID, cmd.Comment, time.Duration(cmd.ShelveSeconds)*time.Second, cmd.ShelveSeconds <= 0)
		case uns.ActionUnshelve:
			err = b.Unshelve(cmd.AlertID)
		case uns.ActionComment:
			err = b.Comment(cmd.AlertID, cmd.Comment)
		case uns.ActionConfirm:
			err = b.Confirm(cmd.AlertID, cmd.Comment)
		default:
			err = fmt.Errorf("unknown action %q", cmd.Action)
		}
		log.Info("mqtt: a dashboard's command", "action", cmd.Action, "alert", cmd.AlertID, "user", cmd.User, "role", cmd.Role, "result", result(err))
		a, _ := c.Store.Alert(cmd.AlertID)
		return a, err
	}
}

// result is "ok", or err's text.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// readTitle names what a dashboard reading a broker shows: the broker,
// and the prefix when there is one.
func (o *mqttOptions) readTitle() string {
	b := mqttconn.Redact(o.broker)
	if o.embedded() {
		b = "embedded broker"
	}
	if o.prefix != "" {
		b += " · " + o.prefix
	}
	return b
}
