package cli

import "github.com/spf13/cobra"

// newLabCmd is a placeholder until the command lands.
func newLabCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "lab", Short: "Generate failure scenarios, run drills and evaluate triage", Hidden: true}
}
