"""gateway/customers/controllers"""
