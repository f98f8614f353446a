package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/store"
)

func newTokenCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens for sitrep serve (create, list, revoke)",
		Long: `Manage the bearer tokens the HTTP API accepts.

Roles, each including the ones before it:
  viewer     read incidents, timelines, action items and changes
  responder  also declare and work incidents, action items and changes
  admin      also manage tokens

A token's secret is shown once, when it is created; the store keeps only
its SHA-256 hash.`,
		Example: `  sitrep token create --name ci --role responder
  sitrep token list
  sitrep token revoke ci`,
	}
	cmd.AddCommand(tokenCreateCmd(a), tokenListCmd(a), tokenRevokeCmd(a))
	return cmd
}

// createdToken is the -o json form of token create.
type createdToken struct {
	*auth.Token
	Secret string `json:"token"`
}

func tokenCreateCmd(a *App) *cobra.Command {
	var name, role string
	cmd := &cobra.Command{
		Use:   "create --name NAME --role viewer|responder|admin",
		Short: "Create a token and print its secret (shown once)",
		Example: `  sitrep token create --name me --role admin
  sitrep token create --name grafana --role viewer -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			secret, tok, err := svc.Tokens.Create(cmd.Context(), a.Actor(), name, r)
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("a token named %q exists already: pick another name, or revoke it first (sitrep token revoke %s)", name, name)
			}
			if err != nil {
				return explainToken(err)
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, createdToken{Token: tok, Secret: secret})
			}
			fmt.Fprintf(a.Stdout, "Created token %q (role %s):\n\n  %s\n\n", tok.Name, tok.Role, secret)
			fmt.Fprintf(a.Stdout, "Copy it now: it cannot be shown again. Use it as:\n")
			fmt.Fprintf(a.Stdout, "  curl -H \"Authorization: Bearer %s\" http://127.0.0.1:8080/api/v1/incidents\n", secret)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "token name, shown as the actor token:NAME on the timeline (required)")
	cmd.Flags().StringVar(&role, "role", "", "viewer, responder or admin (required)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func tokenListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List tokens (names and roles; never the secrets)",
		Example: "  sitrep token list\n  sitrep token list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			toks, err := svc.Tokens.List(cmd.Context())
			if err != nil {
				return err
			}
			if a.Output == "json" {
				if toks == nil {
					toks = []*auth.Token{}
				}
				return writeJSON(a.Stdout, map[string]any{"tokens": toks})
			}
			if len(toks) == 0 {
				fmt.Fprintln(a.Stdout, "No tokens. Create one with: sitrep token create --name me --role admin")
				return nil
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tCREATED BY")
			for _, t := range toks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.UTC().Format("2006-01-02 15:04Z"), t.CreatedBy)
			}
			return tw.Flush()
		},
	}
}

func tokenRevokeCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "revoke NAME",
		Short:   "Revoke a token: requests using it get 401 from now on",
		Example: "  sitrep token revoke ci",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			if err := svc.Tokens.Revoke(cmd.Context(), args[0]); err != nil {
				return explainToken(err)
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, map[string]any{"revoked": args[0]})
			}
			fmt.Fprintf(a.Stdout, "Revoked token %q.\n", args[0])
			return nil
		},
	}
}

func explainToken(err error) error {
	return fmt.Errorf("%w (see tokens with: sitrep token list)", err)
}
