"""Regions, provinces, communes, establishments and the services they offer."""
