"""A Dapr-native workflow microservice."""
