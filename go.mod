module github.com/realtimesecret/realtimesecret

go 1.26.8

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/patrickmn/go-cache v2.1.0+incompatible
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
