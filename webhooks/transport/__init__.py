"""The transport of webhooks: secrets and signing, the SSRF guard, and HTTP. Nothing in this
package touches the database: the engine hands it requests and gets results back."""
