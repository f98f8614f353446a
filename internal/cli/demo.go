package cli

import "github.com/spf13/cobra"

// newDemoCmd is a placeholder until the command lands.
func newDemoCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "demo", Short: "Run the end-to-end demo on a generated incident", Hidden: true}
}
