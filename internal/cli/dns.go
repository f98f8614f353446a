package cli

import "github.com/spf13/cobra"

// newDNSCmd is a placeholder until the command lands.
func newDNSCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "dns", Short: "Check resolvers, audit TTLs, plan and guard DNS migrations", Hidden: true}
}
