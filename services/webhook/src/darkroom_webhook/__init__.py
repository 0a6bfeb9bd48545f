"""Darkroom webhook service: runs workflows and delivers their signed webhooks."""
