package main

import (
	"context"

	"github.com/spf13/cobra"
)

func init() { register(newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var (
		dataDir  string
		view     viewOptions
		logFlags logOptions
		alerts   alertStateOptions
		mqtt     mqttOptions
		met      metricsOptions
	)
	cmd := &cobra.Command{
		Use:   "demo [SCENARIO]",
		Short: "Run the twin, the connectors and the dashboard together on loopback",
		Long: `Start the twin on loopback (the built-in bottling line unless a scenario is given),
point the real OPC UA and Modbus connectors at it through its exported sources,
and open the dashboard. Press f for the fault panel: inject a fault and watch its
alert appear; ? shows every key; q quits.

SCENARIO is a scenario file or the name of a built-in example (` + exampleNames() + `).`,
		Example: `  otwin demo
  otwin demo cnc --role maintenance
  otwin demo scenarios/pasteurizer.yaml
  otwin demo --broker embedded    # and: mosquitto_sub -t '#' -v`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			logger, state, done, err := openRun(&logFlags, &alerts, dataDir, cmd.ErrOrStderr(), true)
			if err != nil {
				return err
			}
			defer done()
			sc, err := loadScenarioArg(args)
			if err != nil {
				return err
			}
			opts, err := view.tuiOptions("otwin demo — " + sc.Name)
			if err != nil {
				return err
			}
			line, err := startLocalLine(ctx, sc, dataDir, state, nil, logger)
			if err != nil {
				return err
			}
			defer line.Close()
			stopMQTT, err := mqtt.startMQTT(ctx, line.Collector, dataDir, cmd.ErrOrStderr(), logger)
			if err != nil {
				return err
			}
			defer stopMQTT()
			if _, err := met.serve(ctx, line.Collector, logger); err != nil {
				return err
			}
			return runDashboard(ctx, line.Collector, opts, line.Control)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory for certificates, the log and the saved alert state (one otwin at a time)")
	view.register(cmd)
	mqtt.register(cmd.Flags())
	logFlags.register(cmd.Flags())
	alerts.register(cmd.Flags())
	met.register(cmd.Flags())
	return cmd
}
