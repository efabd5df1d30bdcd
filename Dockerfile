# syntax=docker/dockerfile:1
# One image for every worker and the fusion CLI. DuckDB needs cgo, so the
# build stage has a C toolchain; the runtime stage has only the binaries.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/ \
      ./services/fusion ./services/ingest ./services/transform \
      ./services/traindata ./services/inference ./services/loader

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/fusion fusion
COPY --from=build /out/ /usr/local/bin/
USER fusion
ENV FUSION_HOME=/var/lib/fusion
WORKDIR /var/lib/fusion
CMD ["fusion", "--help"]
