"""gateway/invites"""
