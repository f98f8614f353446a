package cli

import "github.com/spf13/cobra"

// newIncidentCmd is a placeholder until the command lands.
func newIncidentCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "incident", Short: "Declare and work incidents", Hidden: true}
}
