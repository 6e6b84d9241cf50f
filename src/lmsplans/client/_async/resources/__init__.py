"""The API's resources (`client.learners`, `client.learning_plans`, `client.courses`,
`client.oauth`), one module each."""
