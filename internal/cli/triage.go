package cli

import "github.com/spf13/cobra"

// newTriageCmd is a placeholder until the command lands.
func newTriageCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "triage", Short: "Triage an incident from access logs, metrics and changes", Hidden: true}
}
