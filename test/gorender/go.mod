module wulf/gorender

go 1.19
