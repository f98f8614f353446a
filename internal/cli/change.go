package cli

import "github.com/spf13/cobra"

// newChangeCmd is a placeholder until the command lands.
func newChangeCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "change", Short: "Record, import and list change events", Hidden: true}
}
