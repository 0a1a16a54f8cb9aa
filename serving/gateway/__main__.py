from serving.gateway.app import main

main()
