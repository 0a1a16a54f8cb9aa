"""Signed bearer tokens and roles."""
