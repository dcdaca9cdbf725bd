package flowlog

// kind is how a field's value is decoded.
type kind uint8

const (
	kindString kind = iota // any token, kept as text
	kindNumber             // a non-negative decimal integer
	kindAddr               // an IPv4 or IPv6 address
)

// fieldID identifies a field this package knows. Fields unknown to the package
// have id fieldUnknown.
type fieldID uint8

const (
	fieldUnknown fieldID = iota
	// Version 2 (the default format, in order).
	fieldVersion
	fieldAccountID
	fieldInterfaceID
	fieldSrcAddr
	fieldDstAddr
	fieldSrcPort
	fieldDstPort
	fieldProtocol
	fieldPackets
	fieldBytes
	fieldStart
	fieldEnd
	fieldAction
	fieldLogStatus
	// Version 3.
	fieldVpcID
	fieldSubnetID
	fieldInstanceID
	fieldTCPFlags
	fieldType
	fieldPktSrcAddr
	fieldPktDstAddr
	// Version 4.
	fieldRegion
	fieldAzID
	fieldSublocationType
	fieldSublocationID
	// Version 5.
	fieldPktSrcAWSService
	fieldPktDstAWSService
	fieldFlowDirection
	fieldTrafficPath
	// Version 7 (Amazon ECS).
	fieldECSClusterARN
	fieldECSClusterName
	fieldECSContainerInstanceARN
	fieldECSContainerInstanceID
	fieldECSContainerID
	fieldECSSecondContainerID
	fieldECSServiceName
	fieldECSTaskDefinitionARN
	fieldECSTaskARN
	fieldECSTaskID
	// Version 8.
	fieldRejectReason
	// Transit Gateway flow logs (version 6).
	fieldResourceType
	fieldTGWID
	fieldTGWAttachmentID
	fieldTGWSrcVpcAccountID
	fieldTGWDstVpcAccountID
	fieldTGWSrcVpcID
	fieldTGWDstVpcID
	fieldTGWSrcSubnetID
	fieldTGWDstSubnetID
	fieldTGWSrcENI
	fieldTGWDstENI
	fieldTGWSrcAzID
	fieldTGWDstAzID
	fieldTGWPairAttachmentID
	fieldPacketsLostNoRoute
	fieldPacketsLostBlackhole
	fieldPacketsLostMTUExceeded
	fieldPacketsLostTTLExpired

	numFieldIDs
)

// fieldInfo describes a known field.
type fieldInfo struct {
	name    string
	kind    kind
	version int   // the flow-log version that introduced the field
	max     int64 // largest valid value of a numeric field; 0 means no limit
}

// knownFields is indexed by fieldID. The names and versions are those of the
// "Available fields" tables of the VPC and Transit Gateway flow-log guides.
var knownFields = [numFieldIDs]fieldInfo{
	fieldVersion:     {"version", kindNumber, 2, 0},
	fieldAccountID:   {"account-id", kindString, 2, 0}, // may be "unknown"; ids can have leading zeros or 11 digits
	fieldInterfaceID: {"interface-id", kindString, 2, 0},
	fieldSrcAddr:     {"srcaddr", kindAddr, 2, 0},
	fieldDstAddr:     {"dstaddr", kindAddr, 2, 0},
	fieldSrcPort:     {"srcport", kindNumber, 2, 65535},
	fieldDstPort:     {"dstport", kindNumber, 2, 65535},
	fieldProtocol:    {"protocol", kindNumber, 2, 255},
	fieldPackets:     {"packets", kindNumber, 2, 0},
	fieldBytes:       {"bytes", kindNumber, 2, 0},
	fieldStart:       {"start", kindNumber, 2, 0},
	fieldEnd:         {"end", kindNumber, 2, 0},
	fieldAction:      {"action", kindString, 2, 0},
	fieldLogStatus:   {"log-status", kindString, 2, 0},

	fieldVpcID:      {"vpc-id", kindString, 3, 0},
	fieldSubnetID:   {"subnet-id", kindString, 3, 0},
	fieldInstanceID: {"instance-id", kindString, 3, 0},
	fieldTCPFlags:   {"tcp-flags", kindNumber, 3, 0},
	fieldType:       {"type", kindString, 3, 0},
	fieldPktSrcAddr: {"pkt-srcaddr", kindAddr, 3, 0},
	fieldPktDstAddr: {"pkt-dstaddr", kindAddr, 3, 0},

	fieldRegion:          {"region", kindString, 4, 0},
	fieldAzID:            {"az-id", kindString, 4, 0},
	fieldSublocationType: {"sublocation-type", kindString, 4, 0},
	fieldSublocationID:   {"sublocation-id", kindString, 4, 0},

	fieldPktSrcAWSService: {"pkt-src-aws-service", kindString, 5, 0},
	fieldPktDstAWSService: {"pkt-dst-aws-service", kindString, 5, 0},
	fieldFlowDirection:    {"flow-direction", kindString, 5, 0},
	fieldTrafficPath:      {"traffic-path", kindNumber, 5, 0},

	fieldECSClusterARN:           {"ecs-cluster-arn", kindString, 7, 0},
	fieldECSClusterName:          {"ecs-cluster-name", kindString, 7, 0},
	fieldECSContainerInstanceARN: {"ecs-container-instance-arn", kindString, 7, 0},
	fieldECSContainerInstanceID:  {"ecs-container-instance-id", kindString, 7, 0},
	fieldECSContainerID:          {"ecs-container-id", kindString, 7, 0},
	fieldECSSecondContainerID:    {"ecs-second-container-id", kindString, 7, 0},
	fieldECSServiceName:          {"ecs-service-name", kindString, 7, 0},
	fieldECSTaskDefinitionARN:    {"ecs-task-definition-arn", kindString, 7, 0},
	fieldECSTaskARN:              {"ecs-task-arn", kindString, 7, 0},
	fieldECSTaskID:               {"ecs-task-id", kindString, 7, 0},

	fieldRejectReason: {"reject-reason", kindString, 8, 0},

	fieldResourceType:           {"resource-type", kindString, 6, 0},
	fieldTGWID:                  {"tgw-id", kindString, 6, 0},
	fieldTGWAttachmentID:        {"tgw-attachment-id", kindString, 6, 0},
	fieldTGWSrcVpcAccountID:     {"tgw-src-vpc-account-id", kindString, 6, 0},
	fieldTGWDstVpcAccountID:     {"tgw-dst-vpc-account-id", kindString, 6, 0},
	fieldTGWSrcVpcID:            {"tgw-src-vpc-id", kindString, 6, 0},
	fieldTGWDstVpcID:            {"tgw-dst-vpc-id", kindString, 6, 0},
	fieldTGWSrcSubnetID:         {"tgw-src-subnet-id", kindString, 6, 0},
	fieldTGWDstSubnetID:         {"tgw-dst-subnet-id", kindString, 6, 0},
	fieldTGWSrcENI:              {"tgw-src-eni", kindString, 6, 0},
	fieldTGWDstENI:              {"tgw-dst-eni", kindString, 6, 0},
	fieldTGWSrcAzID:             {"tgw-src-az-id", kindString, 6, 0},
	fieldTGWDstAzID:             {"tgw-dst-az-id", kindString, 6, 0},
	fieldTGWPairAttachmentID:    {"tgw-pair-attachment-id", kindString, 6, 0},
	fieldPacketsLostNoRoute:     {"packets-lost-no-route", kindNumber, 6, 0},
	fieldPacketsLostBlackhole:   {"packets-lost-blackhole", kindNumber, 6, 0},
	fieldPacketsLostMTUExceeded: {"packets-lost-mtu-exceeded", kindNumber, 6, 0},
	fieldPacketsLostTTLExpired:  {"packets-lost-ttl-expired", kindNumber, 6, 0},
}

// fieldByName maps a known field name to its id.
var fieldByName = func() map[string]fieldID {
	m := make(map[string]fieldID, numFieldIDs)
	for id := fieldID(1); id < numFieldIDs; id++ {
		m[knownFields[id].name] = id
	}
	return m
}()

// IsKnownField reports whether name is a field of VPC flow logs (versions 2 to
// 8) or of Transit Gateway flow logs.
func IsKnownField(name string) bool {
	_, ok := fieldByName[name]
	return ok
}

// FieldVersion returns the flow-log version that introduced a known field
// (6 for the Transit Gateway fields), and false for an unknown name.
func FieldVersion(name string) (int, bool) {
	id, ok := fieldByName[name]
	if !ok {
		return 0, false
	}
	return knownFields[id].version, true
}

// validName reports whether b is syntactically a field name: a lowercase letter
// followed by lowercase letters, digits and dashes.
func validName[T string | []byte](b T) bool {
	if len(b) == 0 || b[0] < 'a' || b[0] > 'z' {
		return false
	}
	for i := 1; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
