package cli

import "github.com/spf13/cobra"

// newPostmortemCmd is a placeholder until the command lands.
func newPostmortemCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "postmortem", Short: "Render an incident's postmortem draft", Hidden: true}
}
