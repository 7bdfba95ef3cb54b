"""Tracker stores."""
