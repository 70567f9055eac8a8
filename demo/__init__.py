"""Demo support code for allaccess-api: a local OpenID Connect provider and its helpers."""
