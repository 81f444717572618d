"""gateway/customers"""
