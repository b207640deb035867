# Voronka: one static binary with the builder, the widget and the example flows.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/voronka ./cmd/voronka

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/voronka /usr/local/bin/voronka
COPY --from=build /src/flows /flows
ENV VORONKA_LISTEN=:8080 \
    VORONKA_FLOWS=/flows \
    VORONKA_DATA=/data/voronka.db
EXPOSE 8080
VOLUME ["/data"]
USER nonroot
ENTRYPOINT ["/usr/local/bin/voronka"]
CMD ["serve"]
